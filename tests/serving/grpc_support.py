"""The gRPC tests' shared parts: a real server process with both listeners, and requests."""

from __future__ import annotations

import hashlib
import json
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import pytest
import tritonclient.grpc as triton
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

from contracts.s3 import s3_client
from stack.proc import ServiceProcess, free_port, http_ok
from stack.seaweed import S3Settings

REPO = Path(__file__).resolve().parents[2]
TOKEN = "grpc-test-token"
AUTH = {"authorization": f"Bearer {TOKEN}"}
MAX_BODY = 8 << 20


@dataclass(frozen=True)
class Servers:
    """One `python -m serving` process: its REST URL and its gRPC address."""

    url: str
    address: str

    def stub(self) -> pb_grpc.GRPCInferenceServiceStub:
        return pb_grpc.GRPCInferenceServiceStub(grpc.insecure_channel(self.address))

    def triton(self) -> triton.InferenceServerClient:
        return triton.InferenceServerClient(self.address)


@contextmanager
def grpc_serving(root: Path, s3: S3Settings, **env: str) -> Iterator[Servers]:
    """The server with token TOKEN and an 8 MiB body/message limit, REST and gRPC on."""
    port, grpc_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "serving", "--port", str(port),
               "--grpc-port", str(grpc_port), "--auth-token", TOKEN,
               "--max-body-bytes", str(MAX_BODY)]  # fmt: skip
    environment = {**s3.as_env(), "SERVING_S3_TIMEOUT": "2", **env}
    health = lambda: http_ok(f"{url}/v2/health/live")  # noqa: E731
    process = ServiceProcess("serving", command, root / f"serving-{port}.log", health,
                             env=environment, cwd=REPO)  # fmt: skip
    with process.start():
        process.wait_healthy(timeout=60)
        yield Servers(url, f"127.0.0.1:{grpc_port}")


@contextmanager
def serving_model(
    root: Path, s3: S3Settings, name: str, model_bytes: bytes, version: str, **env: str
) -> Iterator[Servers]:
    """`grpc_serving` with `model_bytes` uploaded to S3 and loaded as `name` through gRPC."""
    with grpc_serving(root, s3, **env) as servers:
        uri = upload(s3, f"grpc/{uuid.uuid4().hex[:8]}/{name}.onnx", model_bytes)
        load(servers, name, uri, model_bytes, version)
        yield servers


def module_servers(name: str, model_fixture: str, version: str) -> Any:
    """A module-scoped `servers` fixture: one server for the test module, the bytes of the
    fixture `model_fixture` loaded as `name` (`version`) through gRPC."""

    @pytest.fixture(scope="module")
    def servers(
        request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
        s3_server: S3Settings,
    ) -> Iterator[Servers]:  # fmt: skip
        root = tmp_path_factory.mktemp(f"grpc-{name}")
        model_bytes = request.getfixturevalue(model_fixture)
        with serving_model(root, s3_server, name, model_bytes, version) as servers:
            yield servers

    return servers


def upload(s3: S3Settings, key: str, data: bytes) -> str:
    s3_client(s3).put_object(Bucket=s3.bucket, Key=key, Body=data)
    return f"s3://{s3.bucket}/{key}"


def load(servers: Servers, name: str, uri: str, model_bytes: bytes, version: str = "4") -> None:
    """Load through tritonclient.grpc's load_model (Triton's `config` JSON parameter)."""
    config = {"uri": uri, "version": version, "sha256": hashlib.sha256(model_bytes).hexdigest()}
    servers.triton().load_model(name, headers=AUTH, config=json.dumps(config))


def infer_request(images: np.ndarray, raw: bool, model: str = "digits", **extra: Any) -> Any:
    """A ModelInferRequest for `images` [N,28,28] FP32, raw or typed."""
    tensor = pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP32", shape=images.shape)
    request = pb.ModelInferRequest(model_name=model, inputs=[tensor], **extra)
    if raw:
        request.raw_input_contents.append(images.astype("<f4").tobytes())
    else:
        request.inputs[0].contents.fp32_contents.extend(images.ravel().tolist())
    return request


def output_array(response: Any, index: int = 0) -> np.ndarray:
    """Output `index` of a ModelInferResponse as numpy, raw or typed."""
    output = response.outputs[index]
    assert output.datatype == "FP32"
    if response.raw_output_contents:
        flat = np.frombuffer(response.raw_output_contents[index], "<f4")
    else:
        flat = np.asarray(output.contents.fp32_contents, np.float32)
    return flat.reshape(tuple(output.shape))
