"""Stock protocol clients against a real server process: tritonclient[http] and plain KServe
v2 JSON over HTTP (httpx), with models loaded from real S3."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

pytestmark = pytest.mark.server

AUTH = {"Authorization": "Bearer test-token"}


def triton_client(url: str) -> triton.InferenceServerClient:
    return triton.InferenceServerClient(url.removeprefix("http://"), network_timeout=30.0)


@pytest.fixture
def loaded(
    serving_server: str, s3_upload: Callable[[str, bytes], str], trained_model_bytes: bytes
) -> str:
    """The server with `digits` (version 4) loaded through tritonclient's load_model."""
    client = triton_client(serving_server)
    config = {"uri": s3_upload("model.onnx", trained_model_bytes), "version": "4",
              "sha256": hashlib.sha256(trained_model_bytes).hexdigest()}  # fmt: skip
    client.load_model("digits", headers=AUTH, config=json.dumps(config))
    return serving_server


def triton_infer(client: triton.InferenceServerClient, images: np.ndarray, binary: bool) -> Any:
    tensor = triton.InferInput("x", list(images.shape), "FP32")
    tensor.set_data_from_numpy(images, binary_data=binary)
    wanted = [triton.InferRequestedOutput("probabilities", binary_data=binary)]
    return client.infer("digits", [tensor], outputs=wanted, request_id="r-1")


@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_infers_real_digits(
    loaded: str, mnist_digits: tuple[np.ndarray, np.ndarray], binary: bool
) -> None:
    client = triton_client(loaded)
    images, labels = mnist_digits
    result = triton_infer(client, images[:64], binary)
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (64, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    accuracy = float(np.mean(probabilities.argmax(axis=1) == labels[:64]))
    assert accuracy > 0.8
    assert result.get_response()["id"] == "r-1"


def test_tritonclient_health_metadata_and_index(loaded: str) -> None:
    client = triton_client(loaded)
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("digits")
    assert "model_repository" in client.get_server_metadata()["extensions"]
    metadata = client.get_model_metadata("digits", model_version="4")
    assert metadata["platform"] == "onnx_onnxv1"
    assert metadata["inputs"][0] == {"name": "x", "datatype": "FP32", "shape": [-1, 28, 28]}
    index = client.get_model_repository_index(headers=AUTH)
    assert {"name": "digits", "version": "4", "state": "READY", "reason": ""} in index


def test_tritonclient_unload_then_reload(loaded: str) -> None:
    client = triton_client(loaded)
    client.unload_model("digits", headers=AUTH)
    assert not client.is_model_ready("digits")
    with pytest.raises(InferenceServerException, match="not loaded"):
        triton_infer(client, np.zeros((1, 28, 28), np.float32), binary=True)
    client.load_model("digits", headers=AUTH)
    assert client.is_model_ready("digits")


def test_tritonclient_load_without_token_is_refused(loaded: str) -> None:
    client = triton_client(loaded)
    with pytest.raises(InferenceServerException, match="Bearer"):
        client.unload_model("digits")
    assert client.is_model_ready("digits")


def test_tritonclient_bad_input_reports_the_reason(loaded: str) -> None:
    client = triton_client(loaded)
    tensor = triton.InferInput("x", [1, 784], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 784), np.float32))
    with pytest.raises(InferenceServerException, match="model expects"):
        client.infer("digits", [tensor])


def test_kserve_v2_json_shape_over_http(
    loaded: str, mnist_digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = mnist_digits
    body = {"id": "k-7", "inputs": [{"name": "x", "shape": [2, 28, 28], "datatype": "FP32",
                                     "data": images[:2].tolist()}]}  # fmt: skip
    response = httpx.post(f"{loaded}/v2/models/digits/infer", json=body, timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert set(document) == {"model_name", "model_version", "id", "outputs"}
    assert (document["model_name"], document["model_version"], document["id"]) == (
        "digits", "4", "k-7")  # fmt: skip
    output = document["outputs"][0]
    assert set(output) == {"name", "datatype", "shape", "data"}
    predicted = np.reshape(output["data"], output["shape"]).argmax(axis=1)
    assert predicted.tolist() == labels[:2].tolist()


def test_kserve_v2_errors_over_http(loaded: str) -> None:
    missing = httpx.post(f"{loaded}/v2/models/nope/infer", json={"inputs": []}, timeout=10)
    assert (missing.status_code, list(missing.json())) == (404, ["error"])
    broken = httpx.post(f"{loaded}/v2/models/digits/infer", content=b"{", timeout=10)
    assert (broken.status_code, list(broken.json())) == (400, ["error"])
    metrics = httpx.get(f"{loaded}/metrics", timeout=10).text
    assert 'serving_inference_failures_total{model="digits",status="400"} 1.0' in metrics


def test_kserve_v2_body_over_limit_is_413_and_server_stays_up(
    loaded: str, mnist_digits: tuple[np.ndarray, np.ndarray]
) -> None:
    oversized = b'{"inputs": [' + b" " * (9 << 20) + b"]}"
    response = httpx.post(f"{loaded}/v2/models/digits/infer", content=oversized, timeout=30)
    assert response.status_code == 413
    assert "limit" in response.json()["error"]
    images = mnist_digits[0][:256]
    body = {"inputs": [{"name": "x", "shape": [256, 28, 28], "datatype": "FP32",
                        "data": images.ravel().tolist()}]}  # fmt: skip
    batch = httpx.post(f"{loaded}/v2/models/digits/infer", json=body, timeout=30)
    assert batch.status_code == 200
    assert batch.json()["outputs"][0]["shape"] == [256, 10]
