"""The seed's registry steps of `make up` against a real registry_local: find the controller's
ServingEnvironment, read MNIST's versions, deploy `mnist-e2e` once (the seed's POST)."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from mr_client import RegistryClient
from mr_client.urls import API
from stack.bootstrap import SERVICE_NAME, ensure_deployed, model_versions, wait_for_environment
from stack.proc import ServiceError
from stack.settings import StackSettings

pytestmark = pytest.mark.server


@pytest.fixture
def registry(registry_server: Any) -> Any:
    with RegistryClient(registry_server.url, timeout=5) as client:
        yield client


def created(url: str, path: str, body: dict[str, str]) -> dict[str, Any]:
    response = httpx.post(f"{url}{API}{path}", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_seed_steps_find_versions_and_deploy_once(
    registry: RegistryClient, registry_server: Any
) -> None:
    assert model_versions(registry) == []
    environment = created(registry_server.url, "/serving_environments", {"name": "local"})
    model = created(registry_server.url, "/registered_models", {"name": "MNIST"})
    for name in ("v1", "v2"):
        created(registry_server.url, "/model_versions",
                {"name": name, "registeredModelId": model["id"]})  # fmt: skip
    assert wait_for_environment(registry, "local", timeout=5) == environment["id"]
    versions = model_versions(registry)
    assert [v.name for v in versions] == ["v1", "v2"]
    settings = dataclasses.replace(StackSettings.load(), registry_url=registry_server.url)
    first = ensure_deployed(registry, settings, environment["id"], model["id"], versions[1].id)
    again = ensure_deployed(registry, settings, environment["id"], model["id"], versions[1].id)
    assert first == again
    found = registry.find_inference_service(SERVICE_NAME)
    assert found is not None
    assert (found.desired_state, found.model_version_id) == ("DEPLOYED", versions[1].id)


def test_wait_for_environment_names_the_missing_environment(registry: RegistryClient) -> None:
    with pytest.raises(ServiceError, match="did not create serving environment 'local'"):
        wait_for_environment(registry, "local", timeout=1)
