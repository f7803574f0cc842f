"""Calls the tests make on running servers: registry REST on a ServingStack, OIP requests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import orjson

AUTH = {"Authorization": "Bearer test-token"}
ZEROS_REQUEST = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP32",
                             "data": [0.0] * 784}]}  # fmt: skip


def environment_id(stack: Any) -> str | None:
    """Id of the controller's ServingEnvironment `local` (None until it exists)."""
    response = httpx.get(f"{stack.api}/serving_environment", params={"name": "local"})
    return str(response.json()["id"]) if response.status_code == 200 else None


def create_service(stack: Any, name: str, model_id: str, **fields: Any) -> str:
    body = {"name": name, "registeredModelId": model_id, "runtime": "mmserver1",
            "desiredState": "DEPLOYED", "servingEnvironmentId": environment_id(stack),
            **fields}  # fmt: skip
    response = httpx.post(f"{stack.api}/inference_services", json=body)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def patch_service(stack: Any, service_id: str, **fields: Any) -> None:
    response = httpx.patch(f"{stack.api}/inference_services/{service_id}", json=fields)
    assert response.status_code == 200, response.text


def serve_records(stack: Any, service_id: str) -> list[dict[str, Any]]:
    """Every ServeModel of a service, oldest first, as the registry returns them."""
    url = f"{stack.api}/inference_services/{service_id}/serves"
    params = {"orderBy": "ID", "sortOrder": "ASC", "pageSize": "1000"}
    return list(httpx.get(url, params=params).json()["items"])


def serves(stack: Any, service_id: str) -> list[tuple[str, str, str]]:
    """(modelVersionId, lastKnownState, description) of every ServeModel, oldest first."""
    return [(i["modelVersionId"], i["lastKnownState"], i.get("description", ""))
            for i in serve_records(stack, service_id)]  # fmt: skip


def index(stack: Any) -> dict[str, dict[str, Any]]:
    rows = httpx.post(f"{stack.serving_url}/v2/repository/index", headers=AUTH).json()
    return {row["name"]: row for row in rows}


def infer(stack: Any, name: str) -> httpx.Response:
    return httpx.post(f"{stack.serving_url}/v2/models/{name}/infer", json=ZEROS_REQUEST)


def served_version(stack: Any, name: str) -> str | None:
    """The version the server answers `name` with (None when it does not answer 200)."""
    try:
        response = infer(stack, name)
    except httpx.TransportError:  # the server is down
        return None
    return response.json()["model_version"] if response.status_code == 200 else None


def binary_request(
    array: np.ndarray, datatype: str = "FP32", binary_output: bool = True
) -> tuple[bytes, dict[str, str]]:
    raw = array.tobytes()
    header = {
        "inputs": [{"name": "x", "shape": list(array.shape), "datatype": datatype,
                    "parameters": {"binary_data_size": len(raw)}}],
        "outputs": [{"name": "probabilities", "parameters": {"binary_data": binary_output}}],
    }  # fmt: skip
    head = orjson.dumps(header)
    return head + raw, {"Inference-Header-Content-Length": str(len(head))}


def poll_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll `check` every 50 ms until it returns something truthy; fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
