"""Helpers shared by the registry tests: an API client wrapper, a factory, typed values."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from starlette.testclient import TestClient

PREFIX = "/api/model_registry/v1alpha3"


@dataclass
class Api:
    """A test client bound to one API prefix; paths are relative to it."""

    client: TestClient
    prefix: str = PREFIX

    def url(self, path: str) -> str:
        return f"{self.prefix}/{path.lstrip('/')}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(self.url(path), params=params)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.client.post(self.url(path), json=body)

    def patch(self, path: str, body: Any) -> httpx.Response:
        return self.client.patch(self.url(path), json=body)

    def send(self, method: str, path: str, content: bytes) -> httpx.Response:
        headers = {"content-type": "application/json"}
        return self.client.request(method, self.url(path), content=content, headers=headers)

    def created(self, path: str, body: Any) -> dict[str, Any]:
        """POST that must succeed with 201; returns the entity."""
        response = self.post(path, body)
        assert response.status_code == 201, response.text
        entity: dict[str, Any] = response.json()
        return entity

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        entity: dict[str, Any] = response.json()
        return entity

    def with_prefix(self, prefix: str) -> Api:
        return Api(self.client, prefix)


@dataclass
class Factory:
    """Creates entities through the API with sensible defaults."""

    api: Api

    def model(self, name: str = "MNIST", **fields: Any) -> dict[str, Any]:
        return self.api.created("registered_models", {"name": name, **fields})

    def version(self, model: dict[str, Any], name: str = "v1", **fields: Any) -> dict[str, Any]:
        body = {"name": name, "registeredModelId": model["id"], **fields}
        return self.api.created("model_versions", body)

    def artifact(self, version: dict[str, Any], **fields: Any) -> dict[str, Any]:
        body = {"artifactType": "model-artifact", "name": "model", "uri": "s3://b/m", **fields}
        return self.api.created(f"model_versions/{version['id']}/artifacts", body)

    def environment(self, name: str = "local", **fields: Any) -> dict[str, Any]:
        return self.api.created("serving_environments", {"name": name, **fields})

    def service(
        self, environment: dict[str, Any], model: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        body = {"registeredModelId": model["id"], "servingEnvironmentId": environment["id"]}
        return self.api.created("inference_services", {**body, **fields})

    def experiment(self, name: str = "exp", **fields: Any) -> dict[str, Any]:
        return self.api.created("experiments", {"name": name, **fields})

    def run(self, experiment: dict[str, Any], **fields: Any) -> dict[str, Any]:
        return self.api.created("experiment_runs", {"experimentId": experiment["id"], **fields})


@dataclass(frozen=True)
class Seeded:
    """One entity of each kind, made by `seed_one_of_each`."""

    entities: dict[str, dict[str, Any]]

    def id_for(self, collection: str) -> str:
        """The id of the seeded entity a path below `collection/{id}` names."""
        return str(self.entities[ID_OWNERS.get(collection, collection)]["id"])


ID_OWNERS = {"model_artifacts": "artifacts"}
COLLECTIONS = (
    "registered_models",
    "model_versions",
    "artifacts",
    "serving_environments",
    "inference_services",
    "experiments",
    "experiment_runs",
)


def seed_one_of_each(make: Factory) -> Seeded:
    environment, model = make.environment(), make.model()
    version = make.version(model)
    service = make.service(environment, model, modelVersionId=version["id"])
    make.api.created(
        f"inference_services/{service['id']}/serves", {"modelVersionId": version["id"]}
    )
    experiment = make.experiment()
    entities = {
        "serving_environments": environment,
        "registered_models": model,
        "model_versions": version,
        "artifacts": make.artifact(version),
        "inference_services": service,
        "experiments": experiment,
        "experiment_runs": make.run(experiment),
    }
    return Seeded(entities)


def snapshot(api: Api, seeded: Seeded) -> dict[str, Any]:
    """Everything stored, as listed: every collection and the seeded service's ServeModels."""
    lists = {collection: api.ok(collection) for collection in COLLECTIONS}
    serves = f"inference_services/{seeded.id_for('inference_services')}/serves"
    return {**lists, serves: api.ok(serves)}


def string_property(value: str) -> dict[str, str]:
    return {"metadataType": "MetadataStringValue", "string_value": value}


def int_property(value: int) -> dict[str, str]:
    return {"metadataType": "MetadataIntValue", "int_value": str(value)}


def double_property(value: float) -> dict[str, Any]:
    return {"metadataType": "MetadataDoubleValue", "double_value": value}


def bool_property(value: bool) -> dict[str, Any]:
    return {"metadataType": "MetadataBoolValue", "bool_value": value}
