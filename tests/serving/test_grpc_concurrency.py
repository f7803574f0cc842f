"""REST and gRPC at once on one server process (one data plane, one set of metrics), and
loads/unloads while both infer. Bounded: a fixed number of requests per worker."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import grpc
import httpx
import numpy as np
import onnxruntime as ort
import pytest
from grpc_support import AUTH, Servers, infer_request, load, module_servers, output_array, upload

from stack.seaweed import S3Settings

pytestmark = pytest.mark.server
REQUESTS_PER_WORKER = 25


servers = module_servers("mnist", "mnist_model_bytes", "1")


def rest_infer(url: str, model: str, images: np.ndarray) -> httpx.Response:
    tensor = {"name": "x", "shape": list(images.shape), "datatype": "FP32",
              "data": images.ravel().tolist()}  # fmt: skip
    return httpx.post(f"{url}/v2/models/{model}/infer", json={"inputs": [tensor]}, timeout=30)


def requests_counted(url: str, model: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.search(rf'^serving_inference_requests_total{{model="{model}"}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_rest_and_grpc_at_once_answer_right_and_share_the_metrics(
    servers: Servers, mnist_model_bytes: bytes
) -> None:
    session = ort.InferenceSession(mnist_model_bytes, providers=["CPUExecutionProvider"])
    before = requests_counted(servers.url, "mnist")

    def worker(index: int) -> int:
        stub, rng = servers.stub(), np.random.default_rng(index)
        for _ in range(REQUESTS_PER_WORKER):
            images = rng.random((int(rng.integers(1, 4)), 28, 28), dtype=np.float32)
            (expected,) = session.run(["probabilities"], {"x": images})
            if index % 2:  # odd workers: gRPC, half raw and half typed
                request = infer_request(images, index % 4 == 1, "mnist")
                answer = output_array(stub.ModelInfer(request, timeout=30))
            else:
                response = rest_infer(servers.url, "mnist", images)
                answer = np.asarray(response.json()["outputs"][0]["data"], np.float32)
            np.testing.assert_allclose(answer.reshape(expected.shape), expected, atol=1e-6)
        return REQUESTS_PER_WORKER

    with ThreadPoolExecutor(8) as pool:
        done = sum(pool.map(worker, range(8)))
    assert done == 8 * REQUESTS_PER_WORKER
    assert requests_counted(servers.url, "mnist") - before == done


def test_load_and_unload_while_rest_and_grpc_infer(
    servers: Servers, s3_server: S3Settings, mnist_model_bytes: bytes
) -> None:
    """Each answer is right, or the model is not there (NOT_FOUND / 404) or loading
    (UNAVAILABLE / 503): never another status; `mnist` serves throughout."""
    uri = upload(s3_server, f"grpc/{uuid.uuid4().hex[:8]}/swap.onnx", mnist_model_bytes)
    load(servers, "swap", uri, mnist_model_bytes, version="1")
    outcomes: dict[str, Counter[str]] = {"grpc": Counter(), "rest": Counter()}
    stop = threading.Event()
    images = np.zeros((1, 28, 28), np.float32)

    def grpc_worker() -> None:
        stub = servers.stub()
        for _ in range(REQUESTS_PER_WORKER * 2):
            try:
                assert output_array(stub.ModelInfer(infer_request(images, True, "swap"))).shape == (
                    1, 10)  # fmt: skip
                outcomes["grpc"]["grpc ok"] += 1
            except grpc.RpcError as exc:
                outcomes["grpc"][f"grpc {exc.code().name}"] += 1

    def rest_worker() -> None:
        for _ in range(REQUESTS_PER_WORKER * 2):
            outcomes["rest"][f"rest {rest_infer(servers.url, 'swap', images).status_code}"] += 1

    def swapper() -> None:
        client = servers.triton()
        for _ in range(5):
            client.unload_model("swap", headers=AUTH)
            client.load_model("swap", headers=AUTH)
        stop.set()

    threads = [threading.Thread(target=f) for f in (grpc_worker, rest_worker, swapper)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert stop.is_set()
    allowed = {"grpc ok", "grpc NOT_FOUND", "grpc UNAVAILABLE", "rest 200", "rest 404", "rest 503"}
    seen = outcomes["grpc"] + outcomes["rest"]
    assert set(seen) <= allowed, seen
    assert sum(seen.values()) == 4 * REQUESTS_PER_WORKER
    assert servers.triton().is_model_ready("swap")
    assert rest_infer(servers.url, "mnist", images).status_code == 200
