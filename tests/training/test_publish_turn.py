"""PUBLISH_AFTER: a publish waits for another version of the same model before it writes,
so concurrent trainings register in a set order (the demo's seed ids depend on it)."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from training.publish import RegistrySettings, connect_registry
from training.turn import PUBLISH_AFTER, TurnTimeoutError, wait_for_turn

pytestmark = pytest.mark.server
API = "/api/model_registry/v1alpha3"


def register(url: str, model: str, version: str) -> None:
    """A RegisteredModel (once) and a ModelVersion, over REST."""
    with httpx.Client(base_url=url + API) as client:
        found = client.get("/registered_model", params={"name": model})
        if found.status_code == 404:
            found = client.post("/registered_models", json={"name": model})
        body = {"name": version, "registeredModelId": found.json()["id"]}
        assert client.post("/model_versions", json=body).status_code == 201


def test_publish_waits_until_the_named_version_is_registered(registry_server: Any) -> None:
    registry = connect_registry(RegistrySettings(url=registry_server.url))
    later = threading.Timer(1.0, register, (registry_server.url, "Turns", "v1"))
    later.start()
    try:
        wait_for_turn(registry, "Turns", after="v1", timeout=60)
    finally:
        later.join()
    assert registry.get_model_version("Turns", "v1") is not None


def test_publish_gives_up_when_the_version_never_comes(
    registry_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = connect_registry(RegistrySettings(url=registry_server.url))
    monkeypatch.setenv(PUBLISH_AFTER, "v9")
    with pytest.raises(TurnTimeoutError, match=r"Nobody v9 was not registered within 1 s"):
        wait_for_turn(registry, "Nobody", timeout=1)
    register(registry_server.url, "Nobody", "v1")
    with pytest.raises(TurnTimeoutError, match="PUBLISH_AFTER=v9"):
        wait_for_turn(registry, "Nobody", timeout=1)


def test_without_publish_after_nothing_waits(
    registry_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = connect_registry(RegistrySettings(url=registry_server.url))
    monkeypatch.delenv(PUBLISH_AFTER, raising=False)
    wait_for_turn(registry, "Absent", timeout=0)
    monkeypatch.setenv(PUBLISH_AFTER, "")
    wait_for_turn(registry, "Absent", timeout=0)
