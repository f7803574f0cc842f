"""Every bad gRPC request gets Triton's / KServe's status code and a clear message, and the
server keeps serving: never UNKNOWN or INTERNAL for a client's mistake."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import numpy as np
import pytest
from grpc_support import AUTH, Servers, infer_request, output_array, serving_model
from tritonclient.grpc import service_pb2 as pb

from stack.seaweed import S3Settings

pytestmark = pytest.mark.server
Tensor = pb.ModelInferRequest.InferInputTensor
INVALID = grpc.StatusCode.INVALID_ARGUMENT
ONE = np.zeros((1, 28, 28), np.float32)


@pytest.fixture(scope="module")
def silent_registry() -> Iterator[str]:
    """host:port of an 'OCI registry' that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Settings, mnist_model_bytes: bytes,
    silent_registry: str,
) -> Iterator[Servers]:  # fmt: skip
    """`mnist` (version 1) served; modelcars may come only from the silent registry."""
    env = {"OCI_REGISTRY": silent_registry, "SERVING_OCI_TIMEOUT": "3"}
    root = tmp_path_factory.mktemp("grpc-errors")
    with serving_model(root, s3_server, "mnist", mnist_model_bytes, "1", **env) as servers:
        yield servers


def code_of(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as caught:
        call()
    return caught.value.code(), caught.value.details() or ""


def request(*tensors: Any, raw: list[bytes] | None = None, **fields: Any) -> Any:
    return pb.ModelInferRequest(model_name=fields.pop("model", "mnist"), inputs=tensors,
                                raw_input_contents=raw or [], **fields)  # fmt: skip


def fp32(shape: tuple[int, ...], **contents: Any) -> Any:
    return Tensor(name="x", datatype="FP32", shape=shape,
                  contents=pb.InferTensorContents(**contents) if contents else None)  # fmt: skip


RAW = ONE.tobytes()
BAD_INFERS = {
    "unknown model": (request(fp32((1, 28, 28)), raw=[RAW], model="nope"),
                      grpc.StatusCode.NOT_FOUND, "not loaded"),
    "no inputs": (request(), INVALID, "no inputs"),
    "raw length": (request(fp32((1, 28, 28)), raw=[RAW[:100]]), INVALID, "binary data has 100"),
    "raw count": (request(fp32((1, 28, 28)), raw=[RAW, RAW]), INVALID, "2 entries for 1"),
    "element count": (request(fp32((2, 28, 28), fp32_contents=[0.0] * 784)), INVALID,
                      "needs 1568 elements, fp32_contents has 784"),
    "wrong contents field": (request(fp32((1, 28, 28), int_contents=[0] * 784)), INVALID,
                             "takes fp32_contents"),
    "contents and raw": (request(fp32((1, 28, 28), fp32_contents=[0.0] * 784), raw=[RAW]),
                         INVALID, "beside raw_input_contents"),
    "unknown datatype": (request(Tensor(name="x", datatype="FP8", shape=[1])), INVALID,
                         "unknown datatype"),
    "BYTES": (request(Tensor(name="x", datatype="BYTES", shape=[1])), INVALID, "BYTES"),
    "FP16 typed": (request(Tensor(name="x", datatype="FP16", shape=[1, 28, 28])), INVALID,
                   "must be raw_input_contents"),
    "INT8 out of range": (request(Tensor(name="x", datatype="INT8", shape=[1],
                          contents=pb.InferTensorContents(int_contents=[300]))), INVALID,
                          "out of range"),
    "unknown input": (request(Tensor(name="y", datatype="FP32", shape=[1, 28, 28]), raw=[RAW]),
                      INVALID, "'y'"),
    "trailing shape": (request(fp32((1, 28, 27)), raw=[RAW[: 28 * 27 * 4]]), INVALID, "shape"),
    "NaN": (request(fp32((1, 28, 28)), raw=[np.full((1, 28, 28), np.nan, "<f4").tobytes()]),
            INVALID, "NaN"),
    "unknown output": (request(fp32((1, 28, 28)), raw=[RAW], outputs=[
        pb.ModelInferRequest.InferRequestedOutputTensor(name="logits")]), INVALID, "logits"),
    "raw_output not a bool": (request(fp32((1, 28, 28)), raw=[RAW], parameters={
        "raw_output": pb.InferParameter(string_param="yes")}), INVALID, "must be a bool"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_INFERS, ids=str)
def test_grpc_bad_infer_gets_its_status_and_the_server_keeps_serving(
    servers: Servers, case: str
) -> None:
    message, code, fragment = BAD_INFERS[case]
    stub = servers.stub()
    got, details = code_of(lambda: stub.ModelInfer(message, timeout=30))
    assert got == code
    assert fragment in details
    assert output_array(stub.ModelInfer(infer_request(ONE, raw=True, model="mnist"))).shape == (
        1, 10)  # fmt: skip


def test_grpc_message_over_the_limit_is_resource_exhausted(servers: Servers) -> None:
    images = np.zeros((2800, 28, 28), np.float32)  # 8.8 MB > the 8 MiB limit
    stub = servers.stub()
    code, details = code_of(lambda: stub.ModelInfer(infer_request(images, True, "mnist")))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in details
    below = np.zeros((2600, 28, 28), np.float32)  # 8.15 MB: just under
    assert output_array(stub.ModelInfer(infer_request(below, True, "mnist"))).shape == (2600, 10)


def load_parameters(**values: Any) -> dict[str, Any]:
    return {key: pb.ModelRepositoryParameter(**{kind: value}) for key, (kind, value) in
            values.items()}  # fmt: skip


BAD_LOADS = {
    "no uri": ("fresh", {}, INVALID, "needs the parameter 'uri'"),
    "uri not a string": ("fresh", load_parameters(uri=("bool_param", True)), INVALID,
                         "must be a string"),
    "bad name": ("../up", load_parameters(uri=("string_param", "s3://models/m.onnx")), INVALID,
                 "bad model name"),
    "bucket not allowed": ("fresh", load_parameters(uri=("string_param", "s3://other/m.onnx")),
                           INVALID, "other"),
    "unknown parameter": ("fresh", load_parameters(uri=("string_param", "s3://models/m.onnx"),
                          colour=("string_param", "red")), INVALID, "unknown load parameter"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD_LOADS, ids=str)
def test_grpc_bad_load_is_invalid_argument(servers: Servers, case: str) -> None:
    name, parameters, code, fragment = BAD_LOADS[case]
    message = pb.RepositoryModelLoadRequest(model_name=name, parameters=parameters)
    stub = servers.stub()
    got, details = code_of(lambda: stub.RepositoryModelLoad(message, metadata=list(AUTH.items())))
    assert got == code
    assert fragment in details
    assert stub.ModelReady(pb.ModelReadyRequest(name="mnist")).ready


def test_grpc_unload_of_an_unknown_model_is_not_found(servers: Servers) -> None:
    message = pb.RepositoryModelUnloadRequest(model_name="never-loaded")
    stub = servers.stub()
    code, _ = code_of(lambda: stub.RepositoryModelUnload(message, metadata=list(AUTH.items())))
    assert code == grpc.StatusCode.NOT_FOUND


def test_grpc_model_metadata_of_an_unknown_model_is_not_found(servers: Servers) -> None:
    stub = servers.stub()
    code, _ = code_of(lambda: stub.ModelMetadata(pb.ModelMetadataRequest(name="nope")))
    assert code == grpc.StatusCode.NOT_FOUND


def test_grpc_infer_while_loading_is_unavailable(servers: Servers, silent_registry: str) -> None:
    """A modelcar load hangs on the silent registry (3 s timeout): meanwhile the model is
    LOADING, so inference is UNAVAILABLE and ModelReady false; the load ends UNAVAILABLE."""
    stub = servers.stub()
    parameters = load_parameters(uri=("string_param", f"oci://{silent_registry}/mnist:v1"))
    message = pb.RepositoryModelLoadRequest(model_name="slow", parameters=parameters)
    outcome: dict[str, tuple[grpc.StatusCode, str]] = {}

    def load_slowly() -> None:
        metadata = list(AUTH.items())
        outcome["load"] = code_of(lambda: stub.RepositoryModelLoad(message, metadata=metadata))

    loader = threading.Thread(target=load_slowly)
    loader.start()
    time.sleep(1.0)
    code, details = code_of(lambda: stub.ModelInfer(infer_request(ONE, True, "slow")))
    ready = stub.ModelReady(pb.ModelReadyRequest(name="slow")).ready
    loader.join(timeout=30)
    assert (code, ready) == (grpc.StatusCode.UNAVAILABLE, False), details
    assert outcome["load"][0] == grpc.StatusCode.UNAVAILABLE


NOT_MESSAGES = {
    "raw input past the end": b"\x3a\x64abc",  # raw_input_contents says 100 bytes, 3 follow
    "bad wire type": b"\x0f\x00",
    "garbage inside inputs": b"\x2a\x02\xff\xff",  # the scan passes it, protobuf refuses it
}


@pytest.mark.parametrize("body", NOT_MESSAGES.values(), ids=NOT_MESSAGES.keys())
def test_grpc_bytes_that_are_no_infer_request_are_invalid_argument(
    servers: Servers, body: bytes
) -> None:
    channel = grpc.insecure_channel(servers.address)
    call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
    code, details = code_of(lambda: call(body, timeout=30))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid inference.ModelInferRequest" in details
    assert output_array(servers.stub().ModelInfer(infer_request(ONE, raw=True, model="mnist"))
                        ).shape == (1, 10)  # fmt: skip
