"""The servers `bench.serving` compares, each serving the benchmark CNN on free loopback ports:
ours (its model loaded from a SeaweedFS S3 server, as always), KServe's ModelServer and, for
the gRPC cases, NVIDIA Triton (the server inside the `nvidia-pytriton` wheel); the peers run in
virtualenvs of their own (`bench.peers`)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort

from bench import REPO
from bench.peers import PEER_MODELS, ensure_peer_venv, installed_version
from bench.processes import running_server
from bench.serving_rest import MODEL, Server
from contracts.s3 import s3_client
from serving.names import model_path, repository_path
from stack.proc import free_port
from stack.seaweed import S3Settings, running_seaweed


def ensure_model(directory: Path) -> Path:
    """The benchmark CNN, trained and exported by `training` on first use."""
    path = directory / "model.onnx"
    if path.exists():
        return path
    print(f"training a CNN into {directory} (first run only, about 30 s)...", flush=True)
    directory.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with (directory / "train.log").open("w") as log:
        command = [sys.executable, "-m", "bench.train_cnn", str(directory)]
        subprocess.run(command, cwd=REPO, env=environment, stdout=log, stderr=log, check=True)
    return path


def ensure_kserve(venv: Path, spec: str) -> str:
    """KServe in its own virtualenv (created with uv on first use); returns its version."""
    packages = [spec, f"onnxruntime=={ort.__version__}", f"numpy=={np.__version__}"]
    return installed_version(ensure_peer_venv(venv, packages), "kserve")


def ensure_triton(venv: Path, spec: str, python: str) -> str:
    """PyTriton in its own virtualenv on `python` (Debian's 3.11: the tritonserver in the wheel
    is built against it) with numpy<2; returns its version."""
    if not Path(python).exists():
        raise SystemExit(f"{python} not found: Triton's virtualenv needs Debian's python3.11 "
                         "(apt-get install python3.11); --no-triton leaves Triton out")  # fmt: skip
    packages = [spec, "numpy<2", f"onnxruntime=={ort.__version__}"]
    return installed_version(ensure_peer_venv(venv, packages, python), "nvidia-pytriton")


@contextmanager
def running(name: str, command: list[str], port: int, ready: str, log: Path,
            env: dict[str, str] | None = None, grpc_port: int = 0,
            rest: bool = True) -> Iterator[Server]:  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with running_server(name, command, url, ready, log, env=env) as pid:
        yield Server(name, url, pid, f"127.0.0.1:{grpc_port}", rest)


@contextmanager
def seaweed_with_model(work: Path, model: Path) -> Iterator[tuple[S3Settings, str]]:
    """A SeaweedFS S3 server holding `model`; yields its settings and the model's URI."""
    with running_seaweed(work / "s3") as process:
        s3 = S3Settings(endpoint=process.url)
        s3_client(s3).put_object(
            Bucket=s3.bucket, Key=f"{MODEL}/1/model.onnx", Body=model.read_bytes()
        )
        yield s3, f"s3://{s3.bucket}/{MODEL}/1/model.onnx"


@contextmanager
def ours(work: Path, model: Path, threads: tuple[int, int], extra: list[str]) -> Iterator[Server]:
    with seaweed_with_model(work, model) as (s3, uri):
        port, grpc_port = free_port(), free_port()
        command = [sys.executable, "-m", "serving", "--port", str(port), "--ort-threads",
                   str(threads[0]), "--ort-threads-large", str(threads[1]),
                   "--grpc-port", str(grpc_port), "--log-level", "warning", *extra]  # fmt: skip
        with running("ours", command, port, "/v2/health/ready", work / "ours.log",
                     s3.as_env(), grpc_port) as server:  # fmt: skip
            sha256 = hashlib.sha256(model.read_bytes()).hexdigest()
            body = {"parameters": {"uri": uri, "sha256": sha256}}
            url = server.url + repository_path(MODEL, "load")
            httpx.post(url, json=body, timeout=60).raise_for_status()
            yield server


@contextmanager
def kserve(work: Path, model: Path, venv: Path, threads: int, logging: bool) -> Iterator[Server]:
    port, grpc_port = free_port(), free_port()
    command = [str(venv / "bin" / "python"), str(PEER_MODELS / "kserve_model.py"),
               "--model-path", str(model), "--ort-threads", str(threads),
               "--model_name", MODEL, "--http_port", str(port), "--workers", "1",
               "--grpc_port", str(grpc_port)]  # fmt: skip
    if not logging:  # like ours: no log line per request
        command += ["--enable_latency_logging", "false", "--configure_logging", "false"]
    ready, log = model_path(MODEL, "ready"), work / "kserve.log"
    with running("KServe", command, port, ready, log, None, grpc_port) as server:
        yield server


@contextmanager
def triton(work: Path, model: Path, venv: Path, threads: int) -> Iterator[Server]:
    """Triton with the model as a PyTriton callable; measured on its gRPC port only."""
    port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    command = [str(venv / "bin" / "python"), str(PEER_MODELS / "triton_model.py"),
               "--model-path", str(model), "--ort-threads", str(threads),
               "--model-name", MODEL, "--http-port", str(port), "--grpc-port", str(grpc_port),
               "--metrics-port", str(metrics_port)]  # fmt: skip
    ready, log = model_path(MODEL, "ready"), work / "triton.log"
    with running("Triton", command, port, ready, log, None, grpc_port, rest=False) as server:
        yield server
