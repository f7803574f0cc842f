"""The gRPC port: a taken one stops `python -m serving` and `make up` with the setting to
change; `--grpc-port 0` serves REST alone; `make status` shows the listener."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.proc import ServiceError, free_port
from stack.runner import refuse_taken_port, status_table
from stack.services import ServiceSpec, service_specs
from stack.settings import StackSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        yield listener.getsockname()[1]


def stack_settings(tmp_path: Path) -> StackSettings:
    """The demo's settings with a free REST port (a running demo holds the default)."""
    overrides = {"state_dir": str(tmp_path), "serving_url": f"http://localhost:{free_port()}"}
    return StackSettings.load(overrides)


def serving_spec(monkeypatch: pytest.MonkeyPatch, grpc_port: int, tmp_path: Path) -> ServiceSpec:
    monkeypatch.setenv("SERVING_GRPC_PORT", str(grpc_port))
    return next(s for s in service_specs(stack_settings(tmp_path)) if s.name == "serving")


@pytest.mark.server
def test_serving_refuses_a_taken_grpc_port_naming_the_setting(taken_port: int) -> None:
    command = [sys.executable, "-m", "serving", "--port", str(free_port()),
               "--grpc-port", str(taken_port)]  # fmt: skip
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert f"cannot listen for gRPC on 127.0.0.1:{taken_port}" in done.stderr
    assert "SERVING_GRPC_PORT" in done.stderr


def test_make_up_refuses_a_taken_grpc_port(
    monkeypatch: pytest.MonkeyPatch, taken_port: int, tmp_path: Path
) -> None:
    spec = serving_spec(monkeypatch, taken_port, tmp_path)
    assert spec.grpc_port == taken_port
    with pytest.raises(ServiceError, match=f"port {taken_port} for serving .* SERVING_GRPC_PORT"):
        refuse_taken_port(spec)


def test_make_up_starts_serving_with_the_grpc_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    spec = serving_spec(monkeypatch, 18033, tmp_path)
    settings = stack_settings(tmp_path)
    assert spec.build(settings).command[-2:] == ["--grpc-port", "18033"]
    table = status_table(settings).splitlines()
    assert table[[line.split()[0] for line in table].index("serving") + 1].split()[:3] == [
        "gRPC", "-", "18033"]  # fmt: skip


def test_grpc_port_zero_means_no_listener_and_no_status_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert serving_spec(monkeypatch, 0, tmp_path).grpc_port == 0
    assert "gRPC" not in status_table(stack_settings(tmp_path))
