"""Reusing the deployed models read from the registry for a moment."""

from __future__ import annotations

import pytest

from app.deployments import Deployment
from app.errors import RegistryUnavailable
from app.recent_deployments import RecentDeployments, deployed_models, recent_deployments
from app.registry_client import RegistryClient
from app.registry_page import run_action
from app.settings import AppSettings


class Registry:
    """Counts the reads; answers a new list each time (or fails, when told to)."""

    def __init__(self) -> None:
        self.reads = 0
        self.down = False

    def read(self) -> list[Deployment]:
        self.reads += 1
        if self.down:
            raise RegistryUnavailable("http://127.0.0.1:1")
        return []


def test_recent_deployments_reuses_a_read_younger_than_max_age() -> None:
    registry, recent = Registry(), RecentDeployments(max_age=60)
    first = recent.get(registry.read)
    assert recent.get(registry.read) is first
    assert registry.reads == 1


def test_recent_deployments_reads_again_once_max_age_passed() -> None:
    registry, recent = Registry(), RecentDeployments(max_age=0)
    first = recent.get(registry.read)
    assert recent.get(registry.read) is not first
    assert registry.reads == 2


def test_recent_deployments_reads_again_after_forget() -> None:
    registry, recent = Registry(), RecentDeployments(max_age=60)
    recent.get(registry.read)
    recent.forget()
    recent.get(registry.read)
    assert registry.reads == 2


def test_recent_deployments_keeps_no_failed_read() -> None:
    registry, recent = Registry(), RecentDeployments(max_age=60)
    registry.down = True
    with pytest.raises(RegistryUnavailable):
        recent.get(registry.read)
    registry.down = False
    recent.get(registry.read)
    recent.get(registry.read)
    assert registry.reads == 2


def test_deploy_or_undeploy_on_the_registry_page_makes_the_draw_page_read_again() -> None:
    """A session's write through the registry page's buttons (run_action), successful or
    not, forgets that session's last read: the draw page then lists what was written."""
    settings = AppSettings("http://127.0.0.1:1", "local", "mmserver1", timeout=1)
    registry = Registry()
    recent_deployments(settings).get(registry.read)
    run_action(settings, lambda client: "InferenceService mnist-v1 is now desired DEPLOYED.")
    recent_deployments(settings).get(registry.read)
    run_action(settings, lambda client: str(client.registered_models()))  # nothing there
    recent_deployments(settings).get(registry.read)
    assert registry.reads == 3


def test_deployed_models_reuse_the_sessions_read_without_asking_the_registry() -> None:
    """The registry is down: a fresh read fails (and is not kept); a read this session made
    a moment ago is answered without asking it."""
    settings = AppSettings("http://127.0.0.1:1", "deployed-models", "mmserver1", timeout=1)
    with RegistryClient(settings.registry_url, timeout=1) as registry:
        with pytest.raises(RegistryUnavailable):
            deployed_models(registry, settings)
        read = recent_deployments(settings).get(Registry().read)
        assert deployed_models(registry, settings) is read
        recent_deployments(settings).forget()
        with pytest.raises(RegistryUnavailable):
            deployed_models(registry, settings)
