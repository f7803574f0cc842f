"""The controller's client of the inference server's model repository extension."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from serving.controller.target import TargetUnavailable
from serving.names import repository_path


class ServingUnavailable(TargetUnavailable):
    """The inference server could not be reached."""


class LoadFailed(Exception):
    """The server refused or failed a load; the message is its reason."""


@dataclass(frozen=True)
class LoadedModel:
    """One row of the server's repository index."""

    name: str
    version: str
    state: str
    reason: str
    owner: str | None

    @property
    def ready(self) -> bool:
        return self.state == "READY"


class ServingClient:
    """index / load / unload on `POST /v2/repository/...`."""

    def __init__(self, base_url: str, token: str, timeout: float, load_timeout: float) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)
        self.load_timeout = load_timeout

    def close(self) -> None:
        self.http.close()

    def post(self, path: str, body: dict[str, Any], timeout: float | None = None) -> httpx.Response:
        try:
            return self.http.post(path, json=body, timeout=timeout or self.http.timeout)
        except httpx.HTTPError as exc:
            raise ServingUnavailable(
                f"inference server unreachable ({type(exc).__name__}: {exc})"
            ) from exc

    def index(self) -> dict[str, LoadedModel]:
        response = self.post("/v2/repository/index", {})
        if response.status_code != 200:
            raise ServingUnavailable(f"repository index failed: {error_of(response)}")
        return {row["name"]: loaded_model(row) for row in response.json()}

    def load(self, name: str, parameters: dict[str, str]) -> None:
        """Load `name` (raises BadModelName, sending nothing, for a name the server refuses)."""
        body = {"parameters": parameters}
        response = self.post(repository_path(name, "load"), body, self.load_timeout)
        if response.status_code != 200:
            raise LoadFailed(error_of(response))

    def unload(self, name: str) -> None:
        response = self.post(repository_path(name, "unload"), {})
        if response.status_code not in (200, 404):
            raise ServingUnavailable(f"unload of {name} failed: {error_of(response)}")


def loaded_model(row: dict[str, Any]) -> LoadedModel:
    return LoadedModel(
        name=str(row["name"]),
        version=str(row.get("version", "")),
        state=str(row.get("state", "")),
        reason=str(row.get("reason", "")),
        owner=row.get("owner"),
    )


def error_of(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"
