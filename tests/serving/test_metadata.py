"""Health, server metadata, model metadata and readiness, in process."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient


def test_read_health_live_and_ready(client: TestClient) -> None:
    assert client.get("/v2/health/live").json() == {"live": True}
    assert client.get("/v2/health/ready").json() == {"ready": True}


@pytest.mark.parametrize("path", ["/v2", "/v2/"])
def test_read_server_metadata_lists_extensions(client: TestClient, path: str) -> None:
    body = client.get(path).json()
    assert body["name"] == "serving"
    assert {"model_repository", "binary_tensor_data"} <= set(body["extensions"])


@pytest.mark.parametrize("path", ["/v2/models/mnist", "/v2/models/mnist/versions/3"])
def test_read_model_metadata_matches_the_contract(client: TestClient, path: str) -> None:
    body = client.get(path).json()
    assert body["name"] == "mnist"
    assert body["versions"] == ["3"]
    assert body["platform"] == "onnx_onnxv1"
    assert body["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 28, 28]}]
    assert body["outputs"] == [{"name": "probabilities", "datatype": "FP32", "shape": [-1, 10]}]


@pytest.mark.parametrize("path", ["/v2/models/nope", "/v2/models/mnist/versions/9"])
def test_read_model_metadata_unknown_is_404(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert list(response.json()) == ["error"]


def test_read_model_ready(client: TestClient) -> None:
    assert client.get("/v2/models/mnist/ready").json() == {"name": "mnist", "ready": True}
    assert client.get("/v2/models/mnist/versions/3/ready").status_code == 200
    assert client.get("/v2/models/nope/ready").status_code == 404


def test_read_model_metadata_with_post_is_405(client: TestClient) -> None:
    assert client.post("/v2/models/mnist").status_code == 405
