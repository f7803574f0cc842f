"""The controller's view of the Model Registry (Kubeflow Model Registry REST API, v1alpha3).

Only the calls the controller needs; errors are three classes: the registry could not be
reached (or failed), an entity does not exist, or it refused a request.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx


class RegistryError(Exception):
    """The registry refused a request (4xx other than 404)."""


class RegistryUnavailable(RegistryError):
    """The registry could not be reached, or answered 5xx."""


class RegistryNotFound(RegistryError):
    """The entity asked for does not exist (404)."""


def string_property(value: str) -> dict[str, str]:
    return {"metadataType": "MetadataStringValue", "string_value": value}


def property_text(properties: dict[str, Any], name: str) -> str | None:
    """The string value of a customProperty (None when absent or not a string)."""
    value = properties.get(name)
    if isinstance(value, dict) and isinstance(value.get("string_value"), str):
        return str(value["string_value"])
    return None


@dataclass(frozen=True)
class InferenceService:
    """An InferenceService as the controller reads it."""

    id: str
    name: str
    desired_state: str
    runtime: str | None
    registered_model_id: str
    model_version_id: str | None
    created: str
    custom_properties: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, document: dict[str, Any]) -> InferenceService:
        return cls(
            id=str(document["id"]),
            name=str(document.get("name") or ""),
            desired_state=str(document.get("desiredState") or "DEPLOYED"),
            runtime=document.get("runtime"),
            registered_model_id=str(document.get("registeredModelId") or ""),
            model_version_id=document.get("modelVersionId"),
            created=str(document.get("createTimeSinceEpoch") or ""),
            custom_properties=dict(document.get("customProperties") or {}),
        )

    @property
    def identity(self) -> tuple[str, str]:
        """Stable across registry restarts, different if the database was replaced."""
        return self.id, self.created


class RegistryClient:
    """Synchronous client for the registry calls the controller makes."""

    def __init__(self, base_url: str, prefix: str, token: str, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(
            base_url=base_url.rstrip("/") + prefix, headers=headers, timeout=timeout
        )
        self.model_names: dict[str, str] = {}

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(
                f"registry unreachable ({type(exc).__name__}: {exc})"
            ) from exc
        if response.status_code == 404:
            raise RegistryNotFound(f"{method} {path}: {message_of(response)}")
        if response.status_code >= 500:
            raise RegistryUnavailable(f"registry failed {method} {path}: {message_of(response)}")
        if response.status_code >= 400:
            raise RegistryError(f"registry refused {method} {path}: {message_of(response)}")
        return response.json()

    def pages(self, path: str, **params: str) -> Iterator[dict[str, Any]]:
        """Every item of a list endpoint, following nextPageToken."""
        token = ""
        while True:
            query = {"pageSize": "100", "orderBy": "ID", "sortOrder": "ASC", **params}
            page = self.request("GET", path, params={**query, "nextPageToken": token})
            yield from page.get("items") or []
            token = page.get("nextPageToken") or ""
            if not token or not page.get("items"):
                return

    def find_environment_id(self, name: str) -> str | None:
        """Id of the ServingEnvironment `name` (None when there is none); creates nothing."""
        try:
            return str(self.request("GET", "/serving_environment", params={"name": name})["id"])
        except RegistryNotFound:
            return None

    def environment_id(self, name: str) -> str:
        """Id of the ServingEnvironment `name`, created when missing."""
        found = self.find_environment_id(name)
        if found is not None:
            return found
        try:
            return str(self.request("POST", "/serving_environments", json={"name": name})["id"])
        except RegistryError:  # created concurrently by someone else: read it
            return str(self.request("GET", "/serving_environment", params={"name": name})["id"])

    def inference_services(self, environment_id: str) -> list[InferenceService]:
        path = f"/serving_environments/{environment_id}/inference_services"
        return [InferenceService.from_wire(item) for item in self.pages(path)]

    def model_version(self, version_id: str) -> dict[str, Any]:
        return dict(self.request("GET", f"/model_versions/{version_id}"))

    def latest_version(self, registered_model_id: str) -> dict[str, Any] | None:
        """The newest LIVE version of a registered model (None when it has none)."""
        path = f"/registered_models/{registered_model_id}/versions"
        params = {"pageSize": "20", "orderBy": "CREATE_TIME", "sortOrder": "DESC"}
        page = self.request("GET", path, params=params)
        live = [v for v in page.get("items") or [] if v.get("state", "LIVE") == "LIVE"]
        return live[0] if live else None

    def model_artifact(self, version_id: str) -> dict[str, Any] | None:
        """The newest model artifact of a version (None when it has none)."""
        path = f"/model_versions/{version_id}/artifacts"
        params = {"artifactType": "model-artifact", "orderBy": "ID", "sortOrder": "DESC"}
        items = self.request("GET", path, params=params).get("items") or []
        models = [item for item in items if item.get("artifactType", "model-artifact")
                  == "model-artifact"]  # fmt: skip
        return models[0] if models else None

    def registered_model_name(self, registered_model_id: str) -> str:
        """The registered model's name, read once per pass (`forget_names` starts a pass)."""
        if registered_model_id not in self.model_names:
            found = self.request("GET", f"/registered_models/{registered_model_id}")
            self.model_names[registered_model_id] = str(found.get("name"))
        return self.model_names[registered_model_id]

    def forget_names(self) -> None:
        self.model_names.clear()

    def latest_serve(self, service_id: str) -> dict[str, Any] | None:
        path = f"/inference_services/{service_id}/serves"
        params = {"pageSize": "1", "orderBy": "ID", "sortOrder": "DESC"}
        items = self.request("GET", path, params=params).get("items") or []
        return items[0] if items else None

    def create_serve(self, service_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return dict(self.request("POST", f"/inference_services/{service_id}/serves", json=body))

    def set_service_property(self, service: InferenceService, name: str, value: str) -> None:
        """Set one string customProperty, keeping the others (PATCH replaces the map)."""
        properties = {**service.custom_properties, name: string_property(value)}
        body = {"customProperties": properties}
        self.request("PATCH", f"/inference_services/{service.id}", json=body)


def message_of(response: httpx.Response) -> str:
    try:
        document = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(document, dict):
        return str(document.get("message") or document.get("error") or document)
    return str(document)
