"""Loading models from a real S3 server (SeaweedFS): every load-time check, good and bad."""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import orjson
import pytest
from starlette.testclient import TestClient

from serving.compat import runtime_support

pytestmark = pytest.mark.server

Upload = Callable[[str, bytes], str]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load(client: TestClient, name: str, **parameters: Any) -> Any:
    return client.post(f"/v2/repository/models/{name}/load", json={"parameters": parameters})


def infer_zeros(client: TestClient, name: str) -> Any:
    body = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP32",
                        "data": [0.0] * 784}]}  # fmt: skip
    return client.post(f"/v2/models/{name}/infer", json=body)


def test_load_checked_model_serves_it(
    s3_client: TestClient, s3_upload: Upload, trained_model_bytes: bytes, golden: bytes
) -> None:
    uri = s3_upload("model.onnx", trained_model_bytes)
    golden_uri = s3_upload("golden.npz", golden)
    response = load(s3_client, "digits", uri=uri, version="4", sha256=sha256(trained_model_bytes),
                    golden_uri=golden_uri, owner="tests", registered_model="MNIST")  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json() == {"name": "digits", "version": "4", "state": "READY", "reason": "",
                               "owner": "tests"}  # fmt: skip
    metadata = s3_client.get("/v2/models/digits").json()
    assert metadata["properties"]["sha256"] == sha256(trained_model_bytes)
    assert metadata["properties"]["artifact_uri"] == uri
    assert metadata["properties"]["registered_model"] == "MNIST"
    assert infer_zeros(s3_client, "digits").json()["model_version"] == "4"


@pytest.fixture
def golden(
    trained_model_bytes: bytes,
    mnist_digits: tuple[np.ndarray, np.ndarray],
    make_golden: Callable[..., bytes],
) -> bytes:
    return make_golden(trained_model_bytes, mnist_digits[0][:16])


@pytest.fixture
def serving_model(s3_client: TestClient, s3_upload: Upload, mnist_model_bytes: bytes) -> str:
    """A model `steady` already serving, to prove failed loads leave it alone."""
    uri = s3_upload("steady.onnx", mnist_model_bytes)
    assert load(s3_client, "steady", uri=uri, version="1").status_code == 200
    return "steady"


def assert_refused(s3_client: TestClient, response: Any, *fragments: str) -> None:
    assert response.status_code == 400, response.text
    for fragment in fragments:
        assert fragment in response.json()["error"]
    assert infer_zeros(s3_client, "steady").status_code == 200


def test_load_exempts_long_lived_objects_from_the_collector(
    s3_client: TestClient, s3_upload: Upload, mnist_model_bytes: bytes
) -> None:
    """After a load the heap is frozen (gc.freeze): full collections skip it, no long stalls."""
    gc.unfreeze()
    uri = s3_upload("model.onnx", mnist_model_bytes)
    try:
        assert load(s3_client, "frozen", uri=uri).status_code == 200
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()


def test_load_tampered_artifact_is_refused(
    s3_client: TestClient, s3_upload: Upload, serving_model: str, mnist_model_bytes: bytes
) -> None:
    tampered = mnist_model_bytes.replace(b"mnist", b"mnisT", 1)
    uri = s3_upload("model.onnx", tampered)
    response = load(s3_client, "tampered", uri=uri, sha256=sha256(mnist_model_bytes))
    assert_refused(s3_client, response, "sha256 mismatch", sha256(tampered),
                   sha256(mnist_model_bytes))  # fmt: skip
    assert infer_zeros(s3_client, "tampered").status_code == 404


def test_load_too_new_opset_is_refused_naming_both(
    s3_client: TestClient, s3_upload: Upload, serving_model: str, too_new_opset_bytes: bytes
) -> None:
    limit = runtime_support().max_opsets[""]
    uri = s3_upload("model.onnx", too_new_opset_bytes)
    response = load(s3_client, "future", uri=uri)
    runtime = f"onnxruntime {ort.__version__} supports that domain up to opset {limit}"
    assert_refused(s3_client, response, f"opset {limit + 1} of domain ai.onnx", runtime)


def test_load_too_new_ir_version_is_refused(
    s3_client: TestClient, s3_upload: Upload, serving_model: str, make_model: Callable[..., bytes]
) -> None:
    model = onnx.load_model_from_string(make_model())
    model.ir_version = runtime_support().max_ir_version + 1
    uri = s3_upload("model.onnx", model.SerializeToString())
    response = load(s3_client, "future-ir", uri=uri)
    assert_refused(s3_client, response, f"IR version {model.ir_version}",
                   f"up to {model.ir_version - 1}")  # fmt: skip


def test_load_golden_mismatch_is_refused(
    s3_client: TestClient, s3_upload: Upload, serving_model: str, mnist_model_bytes: bytes,
    golden: bytes,
) -> None:  # fmt: skip
    uri = s3_upload("model.onnx", mnist_model_bytes)
    response = load(s3_client, "skewed", uri=uri, golden_uri=s3_upload("golden.npz", golden))
    assert_refused(s3_client, response, "train/serve skew", "'probabilities'")


def test_load_json_golden_file_is_checked(
    s3_client: TestClient, s3_upload: Upload, mnist_model_bytes: bytes
) -> None:
    session = ort.InferenceSession(mnist_model_bytes, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(5).random((2, 28, 28), dtype=np.float32)
    (probabilities,) = session.run(["probabilities"], {"x": x})
    document = {"inputs": {"x": x.tolist()}, "outputs": {"probabilities": probabilities.tolist()}}
    golden_uri = s3_upload("golden.json", orjson.dumps(document))
    uri = s3_upload("model.onnx", mnist_model_bytes)
    assert load(s3_client, "json-golden", uri=uri, golden_uri=golden_uri).status_code == 200
    document["outputs"] = {"probabilities": (probabilities[::-1]).tolist()}
    bad_uri = s3_upload("bad-golden.json", orjson.dumps(document))
    response = load(s3_client, "json-golden-bad", uri=uri, golden_uri=bad_uri)
    assert response.status_code == 400


BAD_ARTIFACTS: dict[str, tuple[bytes | None, str]] = {
    "not onnx": (b"this is not a model", "not an ONNX model"),
    "missing": (None, "not found"),
    "too big": (b"\0" * (1024 * 1024 + 1), "over the limit"),
}


@pytest.mark.parametrize(("content", "message"), BAD_ARTIFACTS.values(), ids=BAD_ARTIFACTS)
def test_load_bad_artifact_is_refused(
    s3_client: TestClient, s3_upload: Upload, serving_model: str, content: bytes | None,
    message: str,
) -> None:  # fmt: skip
    uri = s3_upload("model.onnx", content) if content is not None else "s3://models/none/x.onnx"
    assert_refused(s3_client, load(s3_client, "bad", uri=uri), message)


def test_load_unreadable_golden_is_refused(
    s3_client: TestClient, s3_upload: Upload, serving_model: str, mnist_model_bytes: bytes
) -> None:
    uri = s3_upload("model.onnx", mnist_model_bytes)
    golden_uri = s3_upload("golden.npz", b"PK garbage")
    response = load(s3_client, "bad-golden", uri=uri, golden_uri=golden_uri)
    assert_refused(s3_client, response, "golden file", "unreadable")


def test_load_new_version_replaces_and_reload_reuses_parameters(
    s3_client: TestClient, s3_upload: Upload, mnist_model_bytes: bytes,
    make_model: Callable[..., bytes],
) -> None:  # fmt: skip
    assert load(s3_client, "m", uri=s3_upload("v1.onnx", mnist_model_bytes), version="1").is_success
    second = s3_upload("v2.onnx", make_model(seed=2))
    assert load(s3_client, "m", uri=second, version="2").is_success
    assert infer_zeros(s3_client, "m").json()["model_version"] == "2"
    reload = s3_client.post("/v2/repository/models/m/unload")
    assert reload.status_code == 200
    assert s3_client.post("/v2/repository/models/m/load").json()["version"] == "2"
    assert infer_zeros(s3_client, "m").status_code == 200


def test_load_with_triton_config_parameter(
    s3_client: TestClient, s3_upload: Upload, mnist_model_bytes: bytes
) -> None:
    config = orjson.dumps({"uri": s3_upload("model.onnx", mnist_model_bytes), "version": 5})
    response = s3_client.post("/v2/repository/models/cfg/load",
                              json={"parameters": {"config": config.decode()}})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["version"] == "5"
