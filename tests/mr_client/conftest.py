"""Fixtures for the registry client: a real registry_local process, seeded over plain HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mr_client import RegistryClient

PREFIX = "/api/model_registry/v1alpha3"


class Seeder:
    """Creates entities with plain HTTP, so the client is only ever the thing under test."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url + PREFIX, timeout=5)

    def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(path, json=body)
        assert response.status_code == 201, response.text
        entity: dict[str, Any] = response.json()
        return entity

    def model(self, name: str = "MNIST", **fields: Any) -> dict[str, Any]:
        return self.created("/registered_models", {"name": name, **fields})

    def version(self, model: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
        return self.created("/model_versions", {"name": name, "registeredModelId": model["id"],
                                                **fields})  # fmt: skip

    def artifact(self, version: dict[str, Any], name: str, **fields: Any) -> dict[str, Any]:
        body = {"artifactType": "model-artifact", "name": name, "uri": f"s3://models/{name}"}
        return self.created(f"/model_versions/{version['id']}/artifacts", {**body, **fields})


@pytest.fixture
def seed(registry_server: Any) -> Iterator[Seeder]:
    seeder = Seeder(registry_server.url)
    yield seeder
    seeder.http.close()


@pytest.fixture
def registry(registry_server: Any) -> Iterator[RegistryClient]:
    with RegistryClient(registry_server.url, timeout=5) as client:
        yield client
