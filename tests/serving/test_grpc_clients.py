"""Stock gRPC clients against a real server process: tritonclient.grpc (sync and asyncio),
the bare generated stub (typed and raw tensors), grpc.health.v1 and server reflection; and
REST and gRPC give identical answers for the same inputs."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import httpx
import numpy as np
import pytest
import tritonclient.grpc as triton
import tritonclient.grpc.aio as triton_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)
from grpc_support import AUTH, Servers, infer_request, load, module_servers, output_array, upload
from tritonclient.grpc import service_pb2 as pb
from tritonclient.utils import InferenceServerException

from stack.seaweed import S3Settings

pytestmark = pytest.mark.server
SERVICE = "inference.GRPCInferenceService"


servers = module_servers("digits", "trained_model_bytes", "4")


def triton_inputs(images: np.ndarray) -> list[triton.InferInput]:
    tensor = triton.InferInput("x", list(images.shape), "FP32")
    tensor.set_data_from_numpy(images)
    return [tensor]


def test_tritonclient_grpc_infers_real_digits(
    servers: Servers, mnist_digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = mnist_digits
    wanted = [triton.InferRequestedOutput("probabilities")]
    result = servers.triton().infer(
        "digits", triton_inputs(images[:64]), outputs=wanted, request_id="r-1"
    )
    probabilities = result.as_numpy("probabilities")
    assert probabilities.shape == (64, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    assert float(np.mean(probabilities.argmax(axis=1) == labels[:64])) > 0.8
    response = result.get_response()
    assert (response.id, response.model_name, response.model_version) == ("r-1", "digits", "4")


def test_tritonclient_grpc_asyncio(
    servers: Servers, mnist_digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images = mnist_digits[0][:3]

    async def session() -> tuple[bool, bool, np.ndarray]:
        client = triton_aio.InferenceServerClient(servers.address)
        try:
            live, ready = await client.is_server_live(), await client.is_model_ready("digits")
            result = await client.infer("digits", triton_inputs(images))
            return live, ready, result.as_numpy("probabilities")
        finally:
            await client.close()

    live, ready, probabilities = asyncio.run(session())
    assert live
    assert ready
    assert probabilities.shape == (3, 10)


def test_tritonclient_grpc_metadata_readiness_and_index(servers: Servers) -> None:
    client = servers.triton()
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("digits")
    assert client.is_model_ready("digits", "4")
    assert not client.is_model_ready("no-such-model")
    assert "model_repository" in client.get_server_metadata().extensions
    metadata = client.get_model_metadata("digits", as_json=True)
    assert metadata["platform"] == "onnx_onnxv1"
    assert metadata["versions"] == ["4"]
    assert metadata["inputs"] == [{"name": "x", "datatype": "FP32", "shape": ["-1", "28", "28"]}]
    index = client.get_model_repository_index(headers=AUTH, as_json=True)["models"]
    assert {"name": "digits", "version": "4", "state": "READY"} in index


@pytest.mark.parametrize("raw", [True, False], ids=["raw", "typed"])
def test_grpc_and_rest_answers_identical(
    servers: Servers, mnist_digits: tuple[np.ndarray, np.ndarray], raw: bool
) -> None:
    images = mnist_digits[0][100:108]
    response = servers.stub().ModelInfer(infer_request(images, raw, id="same"))
    assert bool(response.raw_output_contents) is raw
    body = {"id": "same", "inputs": [{"name": "x", "shape": list(images.shape),
            "datatype": "FP32", "data": images.ravel().tolist()}]}  # fmt: skip
    rest = httpx.post(f"{servers.url}/v2/models/digits/infer", json=body, timeout=30).json()
    rest_output = rest["outputs"][0]
    assert (response.id, response.model_version) == (rest["id"], rest["model_version"])
    assert (response.outputs[0].name, list(response.outputs[0].shape)) == (
        rest_output["name"], rest_output["shape"])  # fmt: skip
    expected = np.asarray(rest_output["data"], np.float32).reshape(rest_output["shape"])
    np.testing.assert_array_equal(output_array(response), expected)


def test_grpc_raw_output_parameter_and_output_selection(
    servers: Servers, mnist_digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images = mnist_digits[0][:2]
    raw_output = {"raw_output": pb.InferParameter(bool_param=True)}
    outputs = [pb.ModelInferRequest.InferRequestedOutputTensor(name="probabilities")]
    request = infer_request(images, raw=False, parameters=raw_output, outputs=outputs)
    response = servers.stub().ModelInfer(request)
    assert [output.name for output in response.outputs] == ["probabilities"]
    assert len(response.raw_output_contents) == 1
    assert not response.outputs[0].HasField("contents")
    typed = servers.stub().ModelInfer(infer_request(images, raw=False))
    np.testing.assert_array_equal(output_array(response), output_array(typed))


def test_grpc_health_checking(servers: Servers) -> None:
    health = health_pb2_grpc.HealthStub(grpc.insecure_channel(servers.address))
    for service in ("", SERVICE):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as caught:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=10)
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def test_grpc_server_reflection_lists_and_describes_the_service(servers: Servers) -> None:
    """What `grpcurl -plaintext host:port list` / `describe` ask (Debian has no grpcurl)."""
    database = ProtoReflectionDescriptorDatabase(grpc.insecure_channel(servers.address))
    assert {SERVICE, "grpc.health.v1.Health"} <= set(database.get_services())
    descriptor = database.FindFileContainingSymbol(f"{SERVICE}")
    service = next(s for s in descriptor.service if s.name == "GRPCInferenceService")
    assert {"ModelInfer", "RepositoryModelLoad"} <= {method.name for method in service.method}


def test_grpc_reflection_v1_lists_the_services(servers: Servers) -> None:
    """grpcurl asks `grpc.reflection.v1` first (v1alpha only when that is UNIMPLEMENTED)."""
    with grpc.insecure_channel(servers.address) as channel:
        info = channel.stream_stream(
            "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
            reflection_pb2.ServerReflectionRequest.SerializeToString,
            reflection_pb2.ServerReflectionResponse.FromString,
        )
        ask = reflection_pb2.ServerReflectionRequest
        asks = [ask(list_services=""), ask(file_containing_symbol="no.Such")]
        listed, missing = list(info(iter(asks), timeout=10))
    assert {SERVICE, "grpc.health.v1.Health"} <= {
        s.name for s in listed.list_services_response.service
    }
    assert missing.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


def test_grpc_health_watch_streams_the_status(servers: Servers) -> None:
    health = health_pb2_grpc.HealthStub(grpc.insecure_channel(servers.address))
    answers = health.Watch(health_pb2.HealthCheckRequest(service=SERVICE), timeout=10)
    assert next(answers).status == health_pb2.HealthCheckResponse.SERVING
    answers.cancel()


def test_grpc_unload_then_reload(
    servers: Servers, s3_server: S3Settings, mnist_model_bytes: bytes
) -> None:
    uri = upload(s3_server, f"grpc/{uuid.uuid4().hex[:8]}/spare.onnx", mnist_model_bytes)
    load(servers, "spare", uri, mnist_model_bytes, version="2")
    client = servers.triton()
    client.unload_model("spare", headers=AUTH)
    assert not client.is_model_ready("spare")
    with pytest.raises(InferenceServerException, match="not loaded") as caught:
        client.infer("spare", triton_inputs(np.zeros((1, 28, 28), np.float32)))
    assert caught.value.status() == "StatusCode.NOT_FOUND"
    client.load_model("spare", headers=AUTH)  # no uri: the previous spec again
    assert client.is_model_ready("spare", "2")


@pytest.mark.parametrize("metadata", [None, {"authorization": "Bearer wrong"},
                                      {"authorization": "Basic grpc-test-token"}])  # fmt: skip
def test_grpc_repository_rpcs_need_the_token(
    servers: Servers, metadata: dict[str, str] | None
) -> None:
    client = servers.triton()
    calls = [lambda: client.get_model_repository_index(headers=metadata),
             lambda: client.load_model("digits", headers=metadata),
             lambda: client.unload_model("digits", headers=metadata)]  # fmt: skip
    for call in calls:
        with pytest.raises(InferenceServerException) as caught:
            call()
        assert caught.value.status() == "StatusCode.UNAUTHENTICATED"
    assert client.is_model_ready("digits")
