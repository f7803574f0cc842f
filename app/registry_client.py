"""A small client for the Kubeflow Model Registry REST API, as the app needs it.

Reads use the upstream spec's prefix (`/api/model_registry/v1alpha3`); deploy and undeploy
send exactly the seed's curl requests (`/api/model_registry/v1alpha1`, where an
InferenceService's `state` is its desired state). Every failure becomes an AppError.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx

from app.errors import RegistryRequestFailed, RegistryUnavailable
from app.http_errors import error_text

API = "/api/model_registry/v1alpha3"
SEED_API = "/api/model_registry/v1alpha1"
PAGE_SIZE = 100

Resource = dict[str, Any]
"""One registry entity as the REST API returns it (ids are strings)."""


class RegistryClient:
    """Reads models, versions, artifacts and InferenceServices; flips desired states."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def registered_models(self) -> list[Resource]:
        return self._list(f"{API}/registered_models", "list registered models")

    def registered_model(self, model_id: str) -> Resource:
        return self._get(f"{API}/registered_models/{model_id}", f"read registered model {model_id}")

    def model_versions(self, model_id: str) -> list[Resource]:
        path = f"{API}/registered_models/{model_id}/versions"
        return self._list(path, f"list the versions of registered model {model_id}")

    def model_version(self, version_id: str) -> Resource:
        return self._get(f"{API}/model_versions/{version_id}", f"read model version {version_id}")

    def update_model_version(self, version_id: str, fields: Resource) -> Resource:
        """PATCH a ModelVersion's fields (the Registry page sets `state` LIVE or ARCHIVED)."""
        response = self._send("PATCH", f"{API}/model_versions/{version_id}", json=fields)
        return _json(response, f"update model version {version_id}")

    def artifacts(self, version_id: str) -> list[Resource]:
        path = f"{API}/model_versions/{version_id}/artifacts"
        return self._list(path, f"list the artifacts of model version {version_id}")

    def serving_environment(self, name: str) -> Resource | None:
        """The ServingEnvironment called `name`, or None when there is none."""
        response = self._send("GET", f"{API}/serving_environment", params={"name": name})
        if response.status_code == 404:
            return None
        return _json(response, f"find serving environment {name!r}")

    def inference_services(self, environment_id: str) -> list[Resource]:
        path = f"{API}/serving_environments/{environment_id}/inference_services"
        return self._list(path, f"list the inference services of environment {environment_id}")

    def serve_models(self, service_id: str) -> list[Resource]:
        """The ServeModel records of an InferenceService, newest first."""
        path = f"{API}/inference_services/{service_id}/serves"
        what = f"list the serve records of inference service {service_id}"
        return self._list(path, what, sort_order="DESC")

    def create_inference_service(
        self, environment_id: str, name: str, model_id: str, version_id: str, runtime: str
    ) -> Resource:
        """The seed's POST: a new InferenceService, DEPLOYED."""
        body = {"name": name, "modelVersionId": version_id, "runtime": runtime,
                "registeredModelId": model_id, "servingEnvironmentId": environment_id,
                "state": "DEPLOYED"}  # fmt: skip
        path = f"{SEED_API}/serving_environments/{environment_id}/inference_services"
        response = self._send("POST", path, json=body)
        return _json(response, f"create inference service {name!r}")

    def set_desired_state(
        self, service_id: str, version_id: str | None, runtime: str, state: str
    ) -> Resource:
        """The seed's PATCH: flip an InferenceService to DEPLOYED or UNDEPLOYED."""
        body = {"modelVersionId": version_id, "runtime": runtime, "state": state}
        body = {key: value for key, value in body.items() if value}
        response = self._send("PATCH", f"{SEED_API}/inference_services/{service_id}", json=body)
        return _json(response, f"set inference service {service_id} to {state}")

    def healthy(self) -> bool:
        """True when the registry answers its readiness probe."""
        try:
            return self._send("GET", "/readyz/health").status_code == 200
        except RegistryUnavailable:
            return False

    def _get(self, path: str, what: str) -> Resource:
        return _json(self._send("GET", path), what)

    def _list(self, path: str, what: str, sort_order: str = "ASC") -> list[Resource]:
        return list(self._pages(path, what, sort_order))

    def _pages(self, path: str, what: str, sort_order: str) -> Iterator[Resource]:
        params = {"pageSize": str(PAGE_SIZE), "orderBy": "ID", "sortOrder": sort_order}
        while True:
            page = _json(self._send("GET", path, params=params), what)
            yield from page.get("items") or []
            token = page.get("nextPageToken")
            if not token:
                return
            params["nextPageToken"] = token

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise RegistryUnavailable(self.base_url) from exc


def _json(response: httpx.Response, what: str) -> Resource:
    """The JSON object of a 2xx answer; RegistryRequestFailed with the registry's message."""
    if response.is_success:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        raise RegistryRequestFailed(what, response.status_code, "the answer is not JSON")
    raise RegistryRequestFailed(what, response.status_code, error_text(response, "message"))
