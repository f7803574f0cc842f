"""registry_local processes on a given database, and scratch PostgreSQL / MariaDB databases."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stack.proc import ServiceProcess, free_port, http_ok
from tests.registry_local.backends import scratch_database

REPO = Path(__file__).resolve().parents[2]


def registry_service(
    database_url: str, port: int, log_path: Path, *extra_args: str
) -> ServiceProcess:
    """A `python -m registry_local` process on loopback `port` (not started yet)."""
    command = [sys.executable, "-m", "registry_local", "--host", "127.0.0.1",
               "--port", str(port), "--database-url", database_url, *extra_args]  # fmt: skip
    return ServiceProcess(
        name=f"registry on {log_path.stem}",
        command=command,
        log_path=log_path,
        health=lambda: http_ok(f"http://127.0.0.1:{port}/readyz/health"),
        cwd=REPO,
    )


@contextmanager
def registry_process(database_url: str, log_path: Path, *extra_args: str) -> Iterator[str]:
    """A `python -m registry_local` server on a free port over `database_url`; yields its URL."""
    port = free_port()
    process = registry_service(database_url, port, log_path, *extra_args)
    with process.start():
        process.wait_healthy(timeout=60)
        yield f"http://127.0.0.1:{port}"


def kill_hard(process: ServiceProcess) -> None:
    """SIGKILL the process (no shutdown code runs) and reap it."""
    assert process.process is not None
    os.killpg(process.process.pid, signal.SIGKILL)
    process.process.wait(timeout=10)


@contextmanager
def scratch_database_url(backend: str) -> Iterator[str]:
    """A fresh, migrated database on PostgreSQL or MariaDB, dropped afterwards; yields its URL."""
    with scratch_database(backend) as engine:
        yield engine.url.render_as_string(hide_password=False)


@contextmanager
def backend_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A SQLite file under `tmp_path`, or a scratch database on PostgreSQL / MariaDB."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'registry.db'}"
        return
    with scratch_database_url(backend) as url:
        yield url
