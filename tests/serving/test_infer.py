"""Inference over the REST API, in process: good requests and every kind of bad one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import onnxruntime as ort
import orjson
import pytest
from stack_calls import binary_request
from starlette.testclient import TestClient

Body = Callable[..., dict[str, Any]]


def reference_probabilities(model_bytes: bytes, images: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"x": images.astype(np.float32)})[0]


def images(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, 28, 28), dtype=np.float32)


def test_infer_flat_fp32_returns_probabilities(
    client: TestClient, infer_body: Body, mnist_model_bytes: bytes
) -> None:
    batch = images(1)
    response = client.post("/v2/models/mnist/infer", json=infer_body(batch))
    assert response.status_code == 200
    body = response.json()
    assert body["model_name"] == "mnist"
    assert body["model_version"] == "3"
    (output,) = body["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == (
        "probabilities",
        "FP32",
        [1, 10],
    )
    expected = reference_probabilities(mnist_model_bytes, batch)
    np.testing.assert_allclose(np.reshape(output["data"], (1, 10)), expected, rtol=1e-6)


def test_infer_nested_fp64_as_the_seed_app_sends(
    client: TestClient, mnist_model_bytes: bytes
) -> None:
    batch = images(1, seed=3).astype(np.float64)
    seed_body = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP64",
                             "data": batch.tolist()}]}  # fmt: skip
    response = client.post("/v2/models/mnist/infer", json=seed_body)
    assert response.status_code == 200
    data = np.reshape(response.json()["outputs"][0]["data"], (1, 10))
    np.testing.assert_allclose(data, reference_probabilities(mnist_model_bytes, batch), rtol=1e-5)


def test_infer_uint8_data_is_converted_to_fp32(client: TestClient) -> None:
    pixels = np.zeros((1, 28, 28), np.uint8)
    body = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "UINT8",
                        "data": pixels.ravel().tolist()}]}  # fmt: skip
    response = client.post("/v2/models/mnist/infer", json=body)
    assert response.status_code == 200
    assert response.json()["outputs"][0]["shape"] == [1, 10]


def test_infer_echoes_id_and_selects_outputs(client: TestClient, infer_body: Body) -> None:
    body = infer_body(images(1), id="req-42", outputs=[{"name": "probabilities"}])
    response = client.post("/v2/models/mnist/infer", json=body)
    assert response.status_code == 200
    assert response.json()["id"] == "req-42"
    assert [o["name"] for o in response.json()["outputs"]] == ["probabilities"]


@pytest.mark.parametrize("count", [5, 40])
def test_infer_batch_returns_one_row_per_image(
    client: TestClient, infer_body: Body, mnist_model_bytes: bytes, count: int
) -> None:
    batch = images(count, seed=count)
    response = client.post("/v2/models/mnist/infer", json=infer_body(batch))
    assert response.status_code == 200
    output = response.json()["outputs"][0]
    assert output["shape"] == [count, 10]
    expected = reference_probabilities(mnist_model_bytes, batch)
    np.testing.assert_allclose(np.reshape(output["data"], (count, 10)), expected, rtol=1e-5)


def test_infer_versioned_route_serves_the_loaded_version(
    client: TestClient, infer_body: Body
) -> None:
    assert client.post("/v2/models/mnist/versions/3/infer", json=infer_body(images(1))).is_success
    response = client.post("/v2/models/mnist/versions/4/infer", json=infer_body(images(1)))
    assert response.status_code == 404
    assert "version '4'" in response.json()["error"]


def test_infer_two_models_each_with_its_version(client: TestClient, infer_body: Body) -> None:
    body = infer_body(images(1))
    first = client.post("/v2/models/mnist/infer", json=body).json()
    second = client.post("/v2/models/mnist-b/infer", json=body).json()
    assert (first["model_version"], second["model_version"]) == ("3", "7")
    assert first["outputs"][0]["data"] != second["outputs"][0]["data"]


def test_infer_binary_input_and_output(client: TestClient, mnist_model_bytes: bytes) -> None:
    batch = images(3, seed=9)
    body, headers = binary_request(batch)
    response = client.post("/v2/models/mnist/infer", content=body, headers=headers)
    assert response.status_code == 200
    head_length = int(response.headers["inference-header-content-length"])
    head = orjson.loads(response.content[:head_length])
    output = head["outputs"][0]
    assert output["parameters"]["binary_data_size"] == 3 * 10 * 4
    result = np.frombuffer(response.content[head_length:], "<f4").reshape(3, 10)
    np.testing.assert_allclose(result, reference_probabilities(mnist_model_bytes, batch), rtol=1e-6)


def test_infer_binary_input_json_output(client: TestClient) -> None:
    body, headers = binary_request(images(2), binary_output=False)
    response = client.post("/v2/models/mnist/infer", content=body, headers=headers)
    assert response.status_code == 200
    assert "inference-header-content-length" not in response.headers
    assert response.json()["outputs"][0]["shape"] == [2, 10]


def test_infer_binary_data_output_parameter_applies_to_all_outputs(
    client: TestClient, infer_body: Body
) -> None:
    body = infer_body(images(1), parameters={"binary_data_output": True})
    response = client.post("/v2/models/mnist/infer", json=body)
    assert response.status_code == 200
    assert int(response.headers["inference-header-content-length"]) < len(response.content)


def tensor(**overrides: Any) -> dict[str, Any]:
    base = {"name": "x", "shape": [1, 28, 28], "datatype": "FP32", "data": [0.0] * 784}
    return {**base, **overrides}


BAD_JSON_REQUESTS: dict[str, tuple[Any, str]] = {
    "not an object": ([1, 2], "JSON object"),
    "no inputs": ({"id": "1"}, "'inputs'"),
    "empty inputs": ({"inputs": []}, "'inputs'"),
    "input not an object": ({"inputs": ["x"]}, "string 'name'"),
    "unknown input": ({"inputs": [tensor(name="image")]}, "unknown input 'image'"),
    "duplicate input": ({"inputs": [tensor(), tensor()]}, "more than once"),
    "missing data": ({"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP32"}]},
                     "'data' is missing"),
    "shape not a list": ({"inputs": [tensor(shape="1,28,28")]}, "'shape'"),
    "negative dimension": ({"inputs": [tensor(shape=[-1, 28, 28])]}, "'shape'"),
    "wrong rank": ({"inputs": [tensor(shape=[784])]}, "model expects [-1, 28, 28]"),
    "wrong dimension": ({"inputs": [tensor(shape=[1, 28, 27], data=[0.0] * 756)]},
                        "model expects"),
    "element count": ({"inputs": [tensor(data=[0.0] * 783)]}, "needs 784 elements"),
    "unknown datatype": ({"inputs": [tensor(datatype="FLOAT32")]}, "unknown datatype"),
    "datatype not a string": ({"inputs": [tensor(datatype=32)]}, "'datatype'"),
    "bytes datatype": ({"inputs": [tensor(datatype="BYTES")]}, "BYTES"),
    "bool for fp32": ({"inputs": [tensor(datatype="BOOL", data=[True] * 784)]},
                      "model expects FP32"),
    "strings in data": ({"inputs": [tensor(data=["0.5"] * 784)]}, "string values"),
    "ragged data": ({"inputs": [tensor(data=[[0.0] * 28] * 27 + [[0.0] * 27])]},
                    "not a regular array"),
    "data not a list": ({"inputs": [tensor(data=0.5)]}, "'data' must be a list"),
    "fp64 overflow": ({"inputs": [tensor(datatype="FP64", data=[1e300] * 784)]},
                      "NaN or infinite"),
    "int out of range": ({"inputs": [tensor(datatype="UINT8", data=[300] * 784)]},
                         "out of range"),
    "float for int": ({"inputs": [tensor(datatype="INT32", data=[0.5] * 784)]},
                      "needs integer values"),
    "unknown output": ({"inputs": [tensor()], "outputs": [{"name": "logits"}]},
                       "unknown output 'logits'"),
    "outputs not a list": ({"inputs": [tensor()], "outputs": "probabilities"}, "'outputs'"),
    "id not a string": ({"inputs": [tensor()], "id": 42}, "'id'"),
    "parameters not an object": ({"inputs": [tensor()], "parameters": [1]}, "'parameters'"),
}  # fmt: skip


@pytest.mark.parametrize(("body", "message"), BAD_JSON_REQUESTS.values(), ids=BAD_JSON_REQUESTS)
def test_infer_bad_request_is_400_with_reason(
    client: TestClient, infer_body: Body, body: Any, message: str
) -> None:
    response = client.post("/v2/models/mnist/infer", json=body)
    assert response.status_code == 400
    assert list(response.json()) == ["error"]
    assert message in response.json()["error"]
    assert client.post("/v2/models/mnist/infer", json=infer_body(images(1))).status_code == 200


def test_infer_malformed_json_is_400(client: TestClient) -> None:
    response = client.post("/v2/models/mnist/infer", content=b'{"inputs": [')
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]


def test_infer_nan_in_binary_data_is_400(client: TestClient) -> None:
    batch = images(1)
    batch[0, 3, 3] = np.nan
    body, headers = binary_request(batch)
    response = client.post("/v2/models/mnist/infer", content=body, headers=headers)
    assert response.status_code == 400
    assert "NaN" in response.json()["error"]


BINARY_MISFITS = {
    "header longer than body": (lambda head, raw: (head + raw, len(head) + len(raw) + 1),
                                "does not fit a body"),
    "leftover bytes": (lambda head, raw: (head + raw + b"\0\0\0\0", len(head)), "add up to"),
    "missing bytes": (lambda head, raw: (head + raw[:-4], len(head)), "binary_data_size"),
}  # fmt: skip


@pytest.mark.parametrize(("build", "message"), BINARY_MISFITS.values(), ids=BINARY_MISFITS)
def test_infer_binary_size_misfit_is_400(client: TestClient, build: Any, message: str) -> None:
    body, headers = binary_request(images(1))
    head_length = int(headers["Inference-Header-Content-Length"])
    content, claimed = build(body[:head_length], body[head_length:])
    response = client.post(
        "/v2/models/mnist/infer",
        content=content,
        headers={"Inference-Header-Content-Length": str(claimed)},
    )
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_infer_binary_size_not_matching_shape_is_400(client: TestClient) -> None:
    raw = images(1).tobytes()
    head = orjson.dumps({"inputs": [{"name": "x", "shape": [2, 28, 28], "datatype": "FP32",
                                     "parameters": {"binary_data_size": len(raw)}}]})  # fmt: skip
    response = client.post(
        "/v2/models/mnist/infer",
        content=head + raw,
        headers={"Inference-Header-Content-Length": str(len(head))},
    )
    assert response.status_code == 400
    assert "needs 6272" in response.json()["error"]


def test_infer_header_length_not_a_number_is_400(client: TestClient, infer_body: Body) -> None:
    response = client.post(
        "/v2/models/mnist/infer",
        json=infer_body(images(1)),
        headers={"Inference-Header-Content-Length": "ten"},
    )
    assert response.status_code == 400


def test_infer_compressed_body_is_415(client: TestClient, infer_body: Body) -> None:
    response = client.post(
        "/v2/models/mnist/infer", json=infer_body(images(1)), headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 415
    assert "gzip" in response.json()["error"]


def test_infer_body_over_limit_is_413(client: TestClient) -> None:
    response = client.post("/v2/models/mnist/infer", content=b" " * (1024 * 1024 + 1))
    assert response.status_code == 413
    assert "limit" in response.json()["error"]


def test_infer_unknown_model_is_404(client: TestClient, infer_body: Body) -> None:
    response = client.post("/v2/models/nope/infer", json=infer_body(images(1)))
    assert response.status_code == 404
    assert response.json() == {"error": "model 'nope' is not loaded"}


def test_infer_with_get_is_405(client: TestClient) -> None:
    response = client.get("/v2/models/mnist/infer")
    assert response.status_code == 405
    assert "POST" in response.json()["error"]


def test_read_unknown_route_is_404(client: TestClient) -> None:
    for path in ("/", "/v1/models", "/v2/models/mnist/explain", "/v2/health/dead"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert list(response.json()) == ["error"]


def test_read_metrics_counts_requests_and_failures(client: TestClient, infer_body: Body) -> None:
    client.post("/v2/models/mnist/infer", json=infer_body(images(2)))
    client.post("/v2/models/mnist/infer", json={"inputs": [tensor(shape=[3])]})
    client.post("/v2/models/nope/infer", json=infer_body(images(1)))
    text = client.get("/metrics").text
    assert 'serving_inference_requests_total{model="mnist"} 2.0' in text
    assert 'serving_inference_rows_total{model="mnist"} 2.0' in text
    assert 'serving_inference_failures_total{model="mnist",status="400"} 1.0' in text
    assert 'serving_inference_failures_total{model="_unknown",status="404"} 1.0' in text
    assert 'serving_inference_duration_seconds_count{model="mnist"} 1.0' in text
