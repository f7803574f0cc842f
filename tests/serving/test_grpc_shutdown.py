"""SIGTERM stops `python -m serving`'s gRPC side too: health turns NOT_SERVING for a client
watching it, and the process ends (uvicorn raises the signal again after its own shutdown,
so the gRPC listener is stopped inside it, not after it)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from stack.proc import free_port, http_ok

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.server


def watched(address: str, seen: list[Any]) -> threading.Thread:
    """A thread recording what a health Watch of the server ("") streams, then its end."""
    channel = grpc.insecure_channel(address)
    answers = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest())

    def record() -> None:
        try:
            seen.extend(answer.status for answer in answers)
        except grpc.RpcError as error:
            seen.append(error.code())
        channel.close()

    thread = threading.Thread(target=record, daemon=True)
    thread.start()
    return thread


def test_sigterm_turns_health_not_serving_and_ends_the_process() -> None:
    port, grpc_port = free_port(), free_port()
    command = [sys.executable, "-m", "serving", "--port", str(port), "--grpc-port", str(grpc_port)]
    server = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if http_ok(f"http://127.0.0.1:{port}/v2/health/live"):
                break
            time.sleep(0.1)
        seen: list[Any] = []
        watcher = watched(f"127.0.0.1:{grpc_port}", seen)
        while not seen:
            time.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        watcher.join(timeout=30)
    finally:
        server.kill()
    serving, not_serving = (health_pb2.HealthCheckResponse.SERVING,
                            health_pb2.HealthCheckResponse.NOT_SERVING)  # fmt: skip
    assert seen[:2] == [serving, not_serving]
