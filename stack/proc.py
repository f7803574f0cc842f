"""Start, watch and stop one service process, with its output in a log file.

Used by the demo orchestration (`python -m stack`) and by the tests that need real servers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path


class ServiceError(RuntimeError):
    """A service did not start, or died; the message ends with the tail of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on `host` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """True when something accepts connections on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when GET `url` answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return 200 <= int(response.status) < 300
    except (OSError, urllib.error.URLError, ValueError):
        return False


def log_tail(path: Path, lines: int = 20) -> str:
    """The last `lines` lines of a log file ('' when it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ServiceProcess:
    """A named child process whose stdout/stderr go to `log_path`.

    `health` is a callable returning True once the service is ready (e.g. an HTTP probe);
    `address` (`host:port`) is where a network service listens, when its builder knows it.
    """

    name: str
    command: Sequence[str]
    log_path: Path
    health: Callable[[], bool]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    kill_after: float = 10.0
    address: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> ServiceProcess:
        """Launch the process in its own session (so a stop reaches its children)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                list(self.command),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, **(self.env or {})},
                cwd=self.cwd,
                start_new_session=True,
            )
        return self

    @property
    def url(self) -> str:
        """`http://<address>`: the base URL of the service (plain HTTP on loopback)."""
        if not self.address:
            raise ServiceError(f"{self.name} was started without an address")
        return f"http://{self.address}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, timeout: float = 60.0) -> ServiceProcess:
        """Block until healthy; raise ServiceError (with the log tail) if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise self._error(f"exited with code {self._returncode()} before it was ready")
            if self.health():
                return self
            time.sleep(0.1)
        raise self._error(f"was not ready after {timeout:.0f} s")

    def stop(self) -> None:
        """SIGTERM the process group, SIGKILL it after `kill_after` seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        stop_process_group(self.process.pid, self.kill_after)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    def _returncode(self) -> int | None:
        return self.process.poll() if self.process else None

    def _error(self, what: str) -> ServiceError:
        tail = log_tail(self.log_path)
        return ServiceError(f"{self.name} {what}; last lines of {self.log_path}:\n{tail}")

    def __enter__(self) -> ServiceProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def loopback_service(
    name: str, command: Sequence[str], log_path: Path, port: int, ready_path: str
) -> ServiceProcess:
    """A server of ours on 127.0.0.1:`port` (its `address`), ready once GET `ready_path`
    answers 2xx; SIGKILLed if SIGTERM has not stopped it within 5 s."""
    address = f"127.0.0.1:{port}"
    ready_url = f"http://{address}{ready_path}"
    return ServiceProcess(
        name, command, log_path, lambda: http_ok(ready_url), kill_after=5.0, address=address
    )


def pid_alive(pid: int) -> bool:
    """True when a process with this pid exists (and is not a zombie we can reap)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def stop_process_group(pid: int, kill_after: float = 10.0) -> None:
    """SIGTERM the process group led by `pid`; SIGKILL it if still alive after `kill_after` s."""
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + kill_after
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
