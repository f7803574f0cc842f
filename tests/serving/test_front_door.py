"""The inference server's front door under attack (issue 19), one real server process: each
attack beside a good request, and the model loaded first keeps serving through all of them.

Figures are printed (`pytest -s`, `make reliability`). For the "before" column of
docs/reliability.md the same tests ran against an older checkout: FRONT_DOOR_SERVER_ROOT=<its
directory> starts the server from there (its failures there are the point).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from front_door import (
    half_requests,
    images_for_body,
    json_infer_body,
    large_headers,
    large_json_infer,
    long_url,
    many_headers,
    read_answer,
    refused_loads,
    still_open,
)
from grpc_support import upload

from stack.proc import ServiceProcess, free_port, http_ok
from stack.seaweed import S3Settings

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[2]
TOKEN = "front-door-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
READ_TIMEOUT = 2
ONE = np.linspace(0, 1, 784, dtype=np.float32).reshape(1, 28, 28)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int

    def infer(self, body: Any, **headers: str) -> httpx.Response:
        content = body if isinstance(body, bytes) else orjson.dumps(body)
        return httpx.post(f"{self.url}/v2/models/mnist/infer", content=content, headers=headers,
                          timeout=120)  # fmt: skip

    def serves(self) -> bool:
        """The model loaded at start answers a good request as it did then."""
        response = self.infer(orjson.loads(json_infer_body(ONE)))
        return response.status_code == 200 and response.json()["outputs"][0]["shape"] == [1, 10]


def start_server(root: Path, s3: S3Settings, **env: str) -> ServiceProcess:
    port = free_port()
    address = f"127.0.0.1:{port}"
    server_root = Path(os.environ.get("FRONT_DOOR_SERVER_ROOT", REPO))
    environment = {**s3.as_env(), "SERVING_S3_TIMEOUT": "2", "SERVING_AUTH_TOKEN": TOKEN,
                   "SERVING_GRPC_PORT": "0", "SERVING_REQUEST_READ_TIMEOUT": str(READ_TIMEOUT),
                   **env}  # fmt: skip
    process = ServiceProcess("serving", [sys.executable, "-m", "serving", "--port", str(port)],
                             root / f"serving-{port}.log",
                             lambda: http_ok(f"http://{address}/v2/health/live"),
                             env=environment, cwd=server_root, address=address)  # fmt: skip
    return process.start().wait_healthy(timeout=60)


def load_mnist(url: str, s3: S3Settings, model_bytes: bytes) -> None:
    uri = upload(s3, f"front-door/{hashlib.sha256(model_bytes).hexdigest()[:12]}.onnx", model_bytes)
    response = httpx.post(f"{url}/v2/repository/models/mnist/load", headers=AUTH, timeout=60,
                          json={"parameters": {"uri": uri, "version": "1"}})  # fmt: skip
    assert response.status_code == 200, response.text


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Settings, mnist_model_bytes: bytes
) -> Iterator[Server]:
    """One server (read timeout READ_TIMEOUT s, 64 MiB body limit) serving `mnist`."""
    process = start_server(tmp_path_factory.mktemp("front-door"), s3_server)
    with process:
        url = process.url
        load_mnist(url, s3_server, mnist_model_bytes)
        yield Server(url, int(process.pid or 0))


def test_a_long_url_is_414_and_closed(server: Server) -> None:
    for size in (100 << 10, 16 << 20):
        answer = long_url(server.url, size)
        print(f"URL of up to {size} bytes: {answer.status} after {answer.sent} bytes sent")
        assert (answer.status, answer.closed) == (414, True)
        assert "URL is longer than 65535 bytes" in answer.error()
    assert server.serves()


def test_large_headers_are_431_and_closed(server: Server) -> None:
    for name, answer in [("one 16 MiB header", large_headers(server.url, 16 << 20)),
                         ("one 100 KiB header", large_headers(server.url, 100 << 10)),
                         ("20k headers", many_headers(server.url, 20_000))]:  # fmt: skip
        print(f"{name}: {answer.status} after {answer.sent} bytes sent")
        assert (answer.status, answer.closed) == (431, True), name
        assert "request headers are larger than 65536 bytes" in answer.error()
    assert server.serves()


def test_half_sent_requests_are_dropped_after_the_read_timeout(server: Server) -> None:
    heads = half_requests(server.url, 20, with_body=False)
    bodies = half_requests(server.url, 20, with_body=True)
    assert server.serves()  # while 40 connections hold half a request
    answers = [read_answer(sock, wait=READ_TIMEOUT + 10) for sock in heads + bodies]
    print(f"40 half requests: {still_open(heads + bodies)} still open after the read timeout")
    assert {(a.status, a.closed) for a in answers[:20]} == {(408, True)}
    assert {(a.status, a.closed) for a in answers[20:]} == {(0, True)}
    assert "not received within 2 s" in answers[0].error()
    for sock in heads + bodies:
        sock.close()
    assert server.serves()


def test_a_maximum_size_json_request_leaves_health_fast_and_memory_bounded(server: Server) -> None:
    """~60 MiB of JSON (the limit is 64 MiB): the answer is the binary path's, bit for bit;
    health checks keep answering and RSS grows by less than twice the body."""
    images = images_for_body(60 << 20)
    body = json_infer_body(images)
    figures = large_json_infer(server.url, server.pid, body)
    print(f"{len(images)} images, JSON body {len(body) / 2**20:.1f} MiB: {figures}")
    assert figures["statuses"] == [200]
    assert figures["rss_growth_mib"] < 2 * figures["body_mib"]
    raw = images.astype("<f4").tobytes()
    header = orjson.dumps({"inputs": [{"name": "x", "shape": list(images.shape), "datatype": "FP32",
                                       "parameters": {"binary_data_size": len(raw)}}]})  # fmt: skip
    binary = server.infer(header + raw, **{"Inference-Header-Content-Length": str(len(header))})
    json_answer = server.infer(body)
    assert json_answer.json()["outputs"] == binary.json()["outputs"]
    assert server.serves()


SHAPES = [[1] * 65, [0, 2**62, 2**62], [2**40, 2**40]]


@pytest.mark.parametrize("shape", SHAPES, ids=["65-dims", "0x2^62x2^62", "2^40x2^40"])
@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_absurd_shapes_are_400(server: Server, shape: list[int], binary: bool) -> None:
    """Each with the data its shape needs (one value for 65 ones): numpy itself refused
    these shapes with a ValueError, a 500 before."""
    values = [1.0] if shape == [1] * 65 else []
    tensor: dict[str, Any] = {"name": "x", "shape": shape, "datatype": "FP32"}
    headers: dict[str, str] = {}
    raw = np.asarray(values, "<f4").tobytes()
    if binary:
        tensor["parameters"] = {"binary_data_size": len(raw)}
        headers["Inference-Header-Content-Length"] = str(len(orjson.dumps({"inputs": [tensor]})))
    else:
        tensor["data"], raw = values, b""
    response = server.infer(orjson.dumps({"inputs": [tensor]}) + raw, **headers)
    assert response.status_code == 400
    assert "'shape'" in response.json()["error"]
    assert server.serves()


@pytest.mark.parametrize("datatype", ["FP32", "FP64", "INT32"])
@pytest.mark.parametrize("size", [784, 784 * 200], ids=["small", "lifted"])
def test_booleans_in_numeric_data_are_400(server: Server, datatype: str, size: int) -> None:
    data: list[Any] = [1] * size
    data[size // 2] = True
    shape = [size // 784, 28, 28]
    response = server.infer({"inputs": [{"name": "x", "shape": shape, "datatype": datatype,
                                         "data": data}]})  # fmt: skip
    assert response.status_code == 400
    assert "holds boolean values" in response.json()["error"]
    data[size // 2] = 1
    response = server.infer({"inputs": [{"name": "x", "shape": shape, "datatype": datatype,
                                         "data": data}]})  # fmt: skip
    assert response.status_code == 200
    assert server.serves()


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("GET", "/v2/models/mnist/infer", "POST"), ("POST", "/v2/health/live", "GET"),
     ("DELETE", "/v2/models/mnist", "GET"), ("POST", "/metrics", "GET"),
     ("GET", "/v2/repository/index", "POST")],
)  # fmt: skip
def test_method_not_allowed_names_the_allowed_one(
    server: Server, method: str, path: str, allow: str
) -> None:
    response = httpx.request(method, f"{server.url}{path}", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == allow
    assert "error" in response.json()


def test_refused_loads_of_new_names_leave_no_index_entry(server: Server) -> None:
    figures = refused_loads(server.url, TOKEN, 100)
    print(f"100 refused loads: {figures}")
    assert figures["statuses"] == [400]
    assert figures["entries_after"] == figures["entries_before"]
    reload = httpx.post(f"{server.url}/v2/repository/models/mnist/load", headers=AUTH,
                        json={"parameters": {"uri": "s3://models/none/x.onnx"}})  # fmt: skip
    assert reload.status_code == 400
    index = httpx.post(f"{server.url}/v2/repository/index", headers=AUTH).json()
    assert [(row["name"], row["state"]) for row in index] == [("mnist", "READY")]
    assert server.serves()


def hostile_registry_module() -> Any:
    """tests/oci/hostile_registry.py (its directory is not on this directory's path)."""
    path = REPO / "tests" / "oci" / "hostile_registry.py"
    spec = importlib.util.spec_from_file_location("front_door_hostile_registry", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_oci_redirects_away_and_echoed_errors_stay_out_of_the_reason(
    tmp_path: Path, s3_server: S3Settings, mnist_model_bytes: bytes
) -> None:
    hostile = hostile_registry_module()
    with hostile.running_hostile_registry() as registry:
        process = start_server(tmp_path, s3_server, OCI_REGISTRY=registry.address)
        with process:
            url = process.url
            load_mnist(url, s3_server, mnist_model_bytes)
            reasons = [
                oci_load_refusal(url, f"oci://{registry.address}/{repository}")
                for repository in ("redirect-away:v1", f"echo-error@sha256:{'0' * 64}")
            ]
            index = httpx.post(f"{url}/v2/repository/index", headers=AUTH).text
            assert Server(url, int(process.pid or 0)).serves()
    assert "redirected a pull to 'localhost:" in reasons[0]
    assert "(HTTP 401 UNAUTHORIZED)" in reasons[1]
    assert "s3cr3t" not in "".join(reasons) + index


def oci_load_refusal(url: str, uri: str) -> str:
    """The 400 error of loading `uri` as mnist (which keeps serving the version before)."""
    response = httpx.post(f"{url}/v2/repository/models/mnist/load", headers=AUTH,
                          json={"parameters": {"uri": uri}}, timeout=30)  # fmt: skip
    print(f"load {uri}: {response.status_code} {response.text}")
    assert response.status_code == 400
    return str(response.json()["error"])
