"""Reusing the deployed models read from the registry for a moment."""

from __future__ import annotations

import pytest

from app.deployments import Deployment
from app.errors import RegistryUnavailable
from app.recent_deployments import RecentDeployments


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
