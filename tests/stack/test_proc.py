"""The process helper every real-server test and the demo rely on."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from stack.proc import ServiceError, ServiceProcess, free_port, http_ok, pid_alive, port_in_use


def http_server(tmp_path: Path, port: int) -> ServiceProcess:
    return ServiceProcess(
        name="web",
        command=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        log_path=tmp_path / "web.log",
        health=lambda: http_ok(f"http://127.0.0.1:{port}/"),
        cwd=tmp_path,
        address=f"127.0.0.1:{port}",
    )


def test_start_service_healthy_then_stopped(tmp_path: Path) -> None:
    port = free_port()
    with http_server(tmp_path, port).start() as web:
        web.wait_healthy(timeout=30)
        assert port_in_use(port)
        assert http_ok(f"{web.url}/")
        pid = web.pid
    assert pid is not None
    assert not pid_alive(pid)
    assert not port_in_use(port)


def test_start_service_that_dies_reports_log_tail(tmp_path: Path) -> None:
    dying = ServiceProcess(
        name="dying",
        command=[sys.executable, "-c", "import sys; print('boom: bad flag'); sys.exit(3)"],
        log_path=tmp_path / "dying.log",
        health=lambda: False,
    )
    with pytest.raises(ServiceError, match=r"exited with code 3[\s\S]*boom: bad flag"):
        dying.start().wait_healthy(timeout=30)


def test_start_service_never_healthy_times_out(tmp_path: Path) -> None:
    with http_server(tmp_path, free_port()).start() as web:
        web.health = lambda: False
        with pytest.raises(ServiceError, match="was not ready after"):
            web.wait_healthy(timeout=1)


def test_stop_service_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    stubborn = ServiceProcess(
        name="stubborn",
        command=[
            sys.executable,
            "-c",
            "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(60)",
        ],  # fmt: skip
        log_path=tmp_path / "stubborn.log",
        health=lambda: "ready" in (tmp_path / "stubborn.log").read_text(),
        kill_after=0.5,
    )
    stubborn.start().wait_healthy(timeout=30)
    stubborn.stop()
    assert not stubborn.alive()


def test_url_of_a_process_started_without_an_address_says_so(tmp_path: Path) -> None:
    quiet = ServiceProcess("batch job", [sys.executable, "-c", "pass"], tmp_path / "job.log",
                           health=lambda: True)  # fmt: skip
    with pytest.raises(ServiceError, match="batch job was started without an address"):
        assert not quiet.url
