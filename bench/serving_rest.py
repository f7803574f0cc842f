"""The REST half of `bench.serving`: the servers under test, the OIP JSON and binary-extension
request bodies, and wrk runs (script `bench/wrk_post.lua`) on them."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from bench import REPO
from bench.processes import group_cpu_seconds, tool
from serving.names import model_path
from training.data import REPO_TEST_DIR, read_idx_split

MODEL = "mnist"
INFER = model_path(MODEL, "infer")
WRK_SCRIPT = REPO / "bench" / "wrk_post.lua"


@dataclass(frozen=True)
class Case:
    """One load: a request body sent over `connections` keep-alive connections."""

    name: str
    label: str
    connections: int
    rows: int
    body: Path
    header_length: int | None = None

    def environment(self) -> dict[str, str]:
        """What bench/wrk_post.lua reads."""
        if self.header_length is None:
            return {**os.environ, "BODY_FILE": str(self.body), "CONTENT_TYPE": "application/json"}
        return {**os.environ, "BODY_FILE": str(self.body), "HEADER_LENGTH": str(self.header_length),
                "CONTENT_TYPE": "application/octet-stream"}  # fmt: skip


@dataclass(frozen=True)
class Result:
    """What wrk measured for one case on one server in one round, plus the server's CPU time."""

    requests: int
    seconds: float
    p50_us: float
    p99_us: float
    failures: int
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(self.requests, 1) * 1e6


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    pid: int
    grpc_address: str = ""
    rest: bool = True
    """False for a peer measured on its gRPC port only."""

    def serves(self, case: object) -> bool:
        """Whether `case` runs on this server: gRPC cases on every one, REST ones where `rest`."""
        return self.rest or not isinstance(case, Case)

    def cpu_seconds(self) -> float:
        """User + system CPU time so far of the server's processes (its process group: Triton
        answers in tritonserver and runs the model in PyTriton's processes), all threads."""
        return group_cpu_seconds(self.pid)


def wrk_binary() -> str:
    return tool("wrk", "wrk")


def test_images(count: int) -> np.ndarray:
    """Real MNIST test digits as FP32 [count, 28, 28] in 0..1."""
    images, _ = read_idx_split(REPO_TEST_DIR, "t10k")
    return (images[:count].astype(np.float32) / 255.0).astype(np.float32)


def json_body(images: np.ndarray) -> bytes:
    tensor = {"name": "x", "shape": list(images.shape), "datatype": "FP32",
              "data": images.ravel().tolist()}  # fmt: skip
    return json.dumps({"inputs": [tensor]}).encode()


def binary_body(images: np.ndarray) -> tuple[bytes, int]:
    """JSON header + raw FP32 tensor, and the header's length."""
    raw = images.astype("<f4").tobytes()
    tensor = {"name": "x", "shape": list(images.shape), "datatype": "FP32",
              "parameters": {"binary_data_size": len(raw)}}  # fmt: skip
    output = {"name": "probabilities", "parameters": {"binary_data": True}}
    head = json.dumps({"inputs": [tensor], "outputs": [output]}).encode()
    return head + raw, len(head)


def cases(work: Path, images: np.ndarray) -> list[Case]:
    one = work / "json1.body"
    one.write_bytes(json_body(images[:1]))
    batch, header_length = binary_body(images[:256])
    (work / "binary256.body").write_bytes(batch)
    return [
        Case("json_c1", "JSON, 1 image, 1 connection", 1, 1, one),
        Case("json_c32", "JSON, 1 image, 32 connections", 32, 1, one),
        Case("binary256_c1", "binary, 256 images, 1 connection", 1, 256,
             work / "binary256.body", header_length),
    ]  # fmt: skip


def check_answers(server: Server, images: np.ndarray, expected: np.ndarray) -> None:
    """Both servers must answer like onnxruntime before they are timed."""
    headers = {"Content-Type": "application/json"}
    response = httpx.post(
        server.url + INFER, content=json_body(images), headers=headers, timeout=30
    )
    if response.status_code != 200:
        raise SystemExit(f"{server.name} answered {response.status_code}: {response.text}")
    data = np.asarray(response.json()["outputs"][0]["data"], np.float32).reshape(-1, 10)
    if not np.allclose(data, expected, atol=1e-5):
        raise SystemExit(f"{server.name} answers differ from onnxruntime's")


def run_wrk(wrk: str, server: Server, case: Case, seconds: int) -> Result:
    command = [wrk, "-t1", f"-c{case.connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(WRK_SCRIPT), server.url + INFER]  # fmt: skip
    cpu_before = server.cpu_seconds()
    run = subprocess.run(command, capture_output=True, text=True, check=True,
                         env=case.environment())  # fmt: skip
    output = run.stdout
    cpu = server.cpu_seconds() - cpu_before
    line = next(line for line in output.splitlines() if line.startswith('{"requests"'))
    return Result(**json.loads(line), cpu_seconds=cpu)
