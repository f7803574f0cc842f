"""The registry calls the parts make, each answering typed entities.

Every failure is a `mr_client.errors.RegistryError`; `what` phrases ("list registered
models") name the request in its message so a part can say what it was doing.
"""

from __future__ import annotations

from typing import Any

from mr_client.entities import (
    LIVE,
    InferenceService,
    ModelArtifact,
    ModelVersion,
    RegisteredModel,
    ServeModel,
    ServingEnvironment,
)
from mr_client.errors import Refused, RegistryError
from mr_client.properties import encode_property
from mr_client.transport import Document, Transport
from mr_client.urls import API, HEALTH, api_path, seed_path

MODEL_ARTIFACT = "model-artifact"


class RegistryClient:
    """A Model Registry REST client (synchronous, one keep-alive connection)."""

    transport_type: type[Transport] = Transport
    """A part that words its own errors passes a Transport whose `document` translates them."""

    def __init__(
        self, base_url: str, token: str = "", timeout: float = 10.0, prefix: str = API
    ) -> None:
        self.transport = self.transport_type(base_url, token, timeout)
        self.base_url = self.transport.base_url
        self.prefix = prefix
        """The API prefix of reads and the controller's writes (`urls.API` by default)."""

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def healthy(self) -> bool:
        """True when the registry answers its readiness probe (False when it is down)."""
        try:
            return self.transport.send("GET", HEALTH).status_code == 200
        except RegistryError:
            return False

    def probe(self) -> None:
        """One cheap API read: a RegistryError unless a Model Registry REST API answers."""
        path = self._path("registered_models")
        self.transport.document("list registered models", "GET", path, params={"pageSize": "1"})

    # RegisteredModel

    def registered_models(self) -> list[RegisteredModel]:
        items = self.transport.items("list registered models", self._path("registered_models"))
        return [RegisteredModel.from_wire(item) for item in items]

    def registered_model(self, model_id: str) -> RegisteredModel:
        what = f"read registered model {model_id}"
        path = self._path("registered_models", model_id)
        return RegisteredModel.from_wire(self.transport.document(what, "GET", path))

    def find_registered_model(self, name: str) -> RegisteredModel | None:
        """The RegisteredModel called `name`, or None when there is none."""
        found = self._find(f"find registered model {name!r}", "registered_model", name)
        return RegisteredModel.from_wire(found) if found else None

    def update_registered_model(self, model_id: str, fields: Document) -> RegisteredModel:
        what = f"update registered model {model_id}"
        path = self._path("registered_models", model_id)
        return RegisteredModel.from_wire(self._patch(what, path, fields))

    # ModelVersion

    def model_versions(
        self, model_id: str, order_by: str = "ID", sort_order: str = "ASC"
    ) -> list[ModelVersion]:
        what = f"list the versions of registered model {model_id}"
        path = self._path("registered_models", model_id, "versions")
        params = {"orderBy": order_by, "sortOrder": sort_order}
        return [ModelVersion.from_wire(v) for v in self.transport.items(what, path, params)]

    def latest_live_version(self, model_id: str) -> ModelVersion | None:
        """The newest LIVE version of a registered model (None when it has none)."""
        what = f"list the versions of registered model {model_id}"
        path = self._path("registered_models", model_id, "versions")
        params = {"orderBy": "CREATE_TIME", "sortOrder": "DESC"}
        versions = map(ModelVersion.from_wire, self.transport.items(what, path, params))
        return next((v for v in versions if v.state == LIVE), None)

    def model_version(self, version_id: str) -> ModelVersion:
        what = f"read model version {version_id}"
        path = self._path("model_versions", version_id)
        return ModelVersion.from_wire(self.transport.document(what, "GET", path))

    def update_model_version(self, version_id: str, fields: Document) -> ModelVersion:
        """PATCH a ModelVersion's fields (e.g. `state` LIVE or ARCHIVED)."""
        what = f"update model version {version_id}"
        path = self._path("model_versions", version_id)
        return ModelVersion.from_wire(self._patch(what, path, fields))

    # ModelArtifact

    def artifacts(self, version_id: str, sort_order: str = "ASC") -> list[ModelArtifact]:
        what = f"list the artifacts of model version {version_id}"
        path = self._path("model_versions", version_id, "artifacts")
        items = self.transport.items(what, path, {"sortOrder": sort_order})
        return [ModelArtifact.from_wire(item) for item in items]

    def newest_model_artifact(self, version_id: str) -> ModelArtifact | None:
        """The newest model artifact of a version (None when it has none)."""
        what = f"list the model artifacts of model version {version_id}"
        path = self._path("model_versions", version_id, "artifacts")
        params = {"artifactType": MODEL_ARTIFACT, "sortOrder": "DESC"}
        items = self.transport.items(what, path, params)
        artifacts = map(ModelArtifact.from_wire, items)
        return next((a for a in artifacts if a.artifact_type == MODEL_ARTIFACT), None)

    def update_artifact_properties(
        self, artifact: ModelArtifact, **values: object
    ) -> ModelArtifact:
        """Set custom properties of an artifact, keeping the others (PATCH replaces the map)."""
        custom = {**artifact.custom_properties,
                  **{name: encode_property(value) for name, value in values.items()}}  # fmt: skip
        body = {"artifactType": artifact.artifact_type, "customProperties": custom}
        what = f"update artifact {artifact.id}"
        path = self._path("artifacts", artifact.id)
        return ModelArtifact.from_wire(self._patch(what, path, body))

    # ServingEnvironment

    def serving_environments(self) -> list[ServingEnvironment]:
        path = self._path("serving_environments")
        items = self.transport.items("list serving environments", path)
        return [ServingEnvironment.from_wire(item) for item in items]

    def find_serving_environment(self, name: str) -> ServingEnvironment | None:
        """The ServingEnvironment called `name`, or None when there is none."""
        found = self._find(f"find serving environment {name!r}", "serving_environment", name)
        return ServingEnvironment.from_wire(found) if found else None

    def ensure_serving_environment(self, name: str) -> ServingEnvironment:
        """The ServingEnvironment `name`, created when missing (or read, if someone else
        created it meanwhile)."""
        found = self.find_serving_environment(name)
        if found is not None:
            return found
        what = f"create serving environment {name!r}"
        path = self._path("serving_environments")
        try:
            created = self.transport.document(what, "POST", path, json={"name": name})
        except Refused:  # created concurrently by someone else: read it
            raced = self.find_serving_environment(name)
            if raced is None:
                raise
            return raced
        return ServingEnvironment.from_wire(created)

    # InferenceService

    def inference_services(self, environment_id: str) -> list[InferenceService]:
        what = f"list the inference services of environment {environment_id}"
        path = self._path("serving_environments", environment_id, "inference_services")
        return [InferenceService.from_wire(item) for item in self.transport.items(what, path)]

    def all_inference_services(self) -> list[InferenceService]:
        """The InferenceServices of every serving environment."""
        return [service for environment in self.serving_environments()
                for service in self.inference_services(environment.id)]  # fmt: skip

    def find_inference_service(self, name: str) -> InferenceService | None:
        found = self._find(f"find inference service {name!r}", "inference_service", name)
        return InferenceService.from_wire(found) if found else None

    def create_inference_service(
        self, environment_id: str, name: str, model_id: str, version_id: str, runtime: str
    ) -> InferenceService:
        """The seed's POST: a new InferenceService, desired DEPLOYED."""
        body = {"name": name, "modelVersionId": version_id, "runtime": runtime,
                "registeredModelId": model_id, "servingEnvironmentId": environment_id,
                "state": "DEPLOYED"}  # fmt: skip
        path = seed_path("serving_environments", environment_id, "inference_services")
        what = f"create inference service {name!r}"
        return InferenceService.from_wire(self.transport.document(what, "POST", path, json=body))

    def set_desired_state(
        self, service_id: str, version_id: str | None, runtime: str, state: str
    ) -> InferenceService:
        """The seed's PATCH: flip an InferenceService to DEPLOYED or UNDEPLOYED."""
        body = {"modelVersionId": version_id, "runtime": runtime, "state": state}
        body = {key: value for key, value in body.items() if value}
        what = f"set inference service {service_id} to {state}"
        path = seed_path("inference_services", service_id)
        return InferenceService.from_wire(self._patch(what, path, body))

    def set_service_property(self, service: InferenceService, name: str, value: object) -> None:
        """Set one customProperty of an InferenceService, keeping the others."""
        custom = {**service.custom_properties, name: encode_property(value)}
        path = self._path("inference_services", service.id)
        self._patch(f"update inference service {service.id}", path, {"customProperties": custom})

    # ServeModel

    def serve_models(self, service_id: str) -> list[ServeModel]:
        """The ServeModel records of an InferenceService, newest first."""
        what = f"list the serve records of inference service {service_id}"
        path = self._path("inference_services", service_id, "serves")
        items = self.transport.items(what, path, {"sortOrder": "DESC"})
        return [ServeModel.from_wire(item) for item in items]

    def latest_serve(self, service_id: str) -> ServeModel | None:
        """The newest ServeModel record of an InferenceService (one request)."""
        what = f"read the newest serve record of inference service {service_id}"
        path = self._path("inference_services", service_id, "serves")
        params = {"pageSize": "1", "orderBy": "ID", "sortOrder": "DESC"}
        items = self.transport.document(what, "GET", path, params=params).get("items") or []
        return ServeModel.from_wire(items[0]) if items else None

    def create_serve(
        self, service_id: str, version_id: str, state: str, reason: str = ""
    ) -> ServeModel:
        """Append a ServeModel record (upstream has no update for them)."""
        body: Document = {"modelVersionId": version_id, "lastKnownState": state}
        if reason:
            body["description"] = reason
            body["customProperties"] = {"reason": encode_property(reason)}
        what = f"record a serve of inference service {service_id}"
        path = self._path("inference_services", service_id, "serves")
        return ServeModel.from_wire(self.transport.document(what, "POST", path, json=body))

    def _path(self, *segments: str) -> str:
        return api_path(*segments, prefix=self.prefix)

    def _find(self, what: str, resource: str, name: str) -> Document | None:
        path = self._path(resource)
        return self.transport.optional_document(what, "GET", path, params={"name": name})

    def _patch(self, what: str, path: str, fields: Any) -> Document:
        return self.transport.document(what, "PATCH", path, json=fields)
