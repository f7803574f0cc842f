"""The model repository extension in process: auth, index, unload, refused load requests.

Loads that reach S3 are in test_loading.py (real SeaweedFS); here S3 points at a closed port.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from starlette.testclient import TestClient

AUTH = {"Authorization": "Bearer test-token"}
Body = Callable[..., dict[str, Any]]


def load(client: TestClient, name: str, parameters: Any) -> Any:
    return client.post(f"/v2/repository/models/{name}/load", json={"parameters": parameters},
                       headers=AUTH)  # fmt: skip


@pytest.mark.parametrize(
    ("method_path", "body"),
    [("/v2/repository/index", {}), ("/v2/repository/models/mnist/unload", {}),
     ("/v2/repository/models/m/load", {"parameters": {"uri": "s3://models/m/model.onnx"}})],
)  # fmt: skip
@pytest.mark.parametrize("authorization", [None, "Bearer wrong", "test-token"])
def test_repository_without_the_token_is_401(
    client: TestClient, method_path: str, body: Any, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = client.post(method_path, json=body, headers=headers)
    assert response.status_code == 401
    assert "Bearer" in response.json()["error"]
    assert client.get("/v2/models/mnist/ready").status_code == 200


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_repository_token_scheme_is_case_insensitive(client: TestClient, scheme: str) -> None:
    response = client.post(
        "/v2/repository/index", headers={"Authorization": f"{scheme} test-token"}
    )
    assert response.status_code == 200


def test_read_repository_index_lists_models(client: TestClient) -> None:
    response = client.post("/v2/repository/index", headers=AUTH)
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()}
    assert rows["mnist"] == {"name": "mnist", "version": "3", "state": "READY", "reason": ""}
    assert rows["mnist-b"]["version"] == "7"


def test_unload_model_makes_infer_404_and_leaves_others(
    client: TestClient, infer_body: Body
) -> None:
    body = infer_body(np.zeros((1, 28, 28), np.float32))
    assert client.post("/v2/repository/models/mnist/unload", headers=AUTH).status_code == 200
    assert client.post("/v2/models/mnist/infer", json=body).status_code == 404
    assert client.post("/v2/models/mnist-b/infer", json=body).status_code == 200
    index = {row["name"]: row for row in client.post("/v2/repository/index", headers=AUTH).json()}
    assert (index["mnist"]["state"], index["mnist"]["reason"]) == ("UNAVAILABLE", "unloaded")
    ready = client.post("/v2/repository/index", json={"ready": True}, headers=AUTH).json()
    assert [row["name"] for row in ready] == ["mnist-b"]


def test_unload_unknown_model_is_404(client: TestClient) -> None:
    response = client.post("/v2/repository/models/nope/unload", headers=AUTH)
    assert response.status_code == 404


REFUSED_LOADS: dict[str, tuple[str, Any, str]] = {
    "http uri": ("m", {"uri": "http://evil.example/model.onnx"}, "only s3://"),
    "file uri": ("m", {"uri": "file:///etc/passwd"}, "only s3://"),
    "other bucket": ("m", {"uri": "s3://elsewhere/m/model.onnx"}, "bucket 'elsewhere' is not"),
    "dotdot key": ("m", {"uri": "s3://models/MNIST/../../secret"}, "'..'"),
    "empty key": ("m", {"uri": "s3://models/"}, "plain path"),
    "golden elsewhere": ("m", {"uri": "s3://models/m/model.onnx",
                               "golden_uri": "http://x/g.npz"}, "only s3://"),
    "no uri": ("m", {"version": "1"}, "needs the parameter 'uri'"),
    "unknown parameter": ("m", {"uri": "s3://models/m/model.onnx", "path": "x"},
                          "unknown load parameter"),
    "uploaded file": ("m", {"file:1/model.onnx": "AAAA"}, "cannot be uploaded"),
    "bad sha256": ("m", {"uri": "s3://models/m/model.onnx", "sha256": "abc"}, "64 hexadecimal"),
    "bad digest": ("m", {"uri": "oci://localhost:5000/m:v1", "digest": "sha256:abc"},
                   "sha256:<64 hexadecimal digits>"),
    "digest for s3": ("m", {"uri": "s3://models/m/model.onnx", "digest": "sha256:" + "0" * 64},
                      "pins an oci:// image"),
    "non-string value": ("m", {"uri": ["s3://models/m/model.onnx"]}, "must be a string"),
    "bad config": ("m", {"config": "{not json"}, "'config' must be a JSON object"),
    "bad model name": ("-bad", {"uri": "s3://models/m/model.onnx"}, "bad model name"),
}  # fmt: skip


@pytest.mark.parametrize(("name", "parameters", "message"), REFUSED_LOADS.values(),
                         ids=REFUSED_LOADS)  # fmt: skip
def test_load_refused_request_is_400_with_reason(
    client: TestClient, name: str, parameters: Any, message: str
) -> None:
    response = load(client, name, parameters)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert client.get("/v2/models/mnist/ready").status_code == 200


def test_load_parameters_not_an_object_is_400(client: TestClient) -> None:
    response = client.post("/v2/repository/models/m/load", json={"parameters": "x"}, headers=AUTH)
    assert response.status_code == 400


def test_load_with_s3_down_is_503_and_leaves_no_entry(client: TestClient) -> None:
    """A refused load of a new name answers why and leaves the index as it was."""
    before = client.post("/v2/repository/index", headers=AUTH).json()
    response = load(client, "m", {"uri": "s3://models/m/model.onnx", "version": "2"})
    assert response.status_code == 503
    assert "unreachable" in response.json()["error"]
    assert client.post("/v2/repository/index", headers=AUTH).json() == before
    assert client.post("/v2/models/m/infer", json={}).status_code == 404


def test_load_failure_keeps_the_serving_version(client: TestClient, infer_body: Body) -> None:
    response = load(client, "mnist", {"uri": "s3://models/m/model.onnx", "version": "4"})
    assert response.status_code == 503
    body = infer_body(np.zeros((1, 28, 28), np.float32))
    served = client.post("/v2/models/mnist/infer", json=body).json()
    assert served["model_version"] == "3"
    index = {row["name"]: row for row in client.post("/v2/repository/index", headers=AUTH).json()}
    assert index["mnist"]["state"] == "READY"
    assert "loading version '4' failed" in index["mnist"]["reason"]
