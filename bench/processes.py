"""Servers under test: started with `stack.proc`, ready when an HTTP path answers 2xx; the CPU
time they spend (from /proc), and the load generators (wrk, h2load) that drive them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from bench import REPO
from stack.proc import ServiceProcess, http_ok


@contextmanager
def running_server(name: str, command: Sequence[str], url: str, ready: str, log: Path, *,
                   env: Mapping[str, str] | None = None, timeout: float = 120,
                   cwd: Path = REPO) -> Iterator[int]:  # fmt: skip
    """Start `command`, wait until GET `url + ready` answers 2xx; yields its pid, which
    leads its own process group; on exit stops the group, and kills what is left of it."""
    process = ServiceProcess(name, command, log, lambda: http_ok(url + ready), env=env, cwd=cwd)
    try:
        with process.start():
            process.wait_healthy(timeout=timeout)
            assert process.pid is not None
            yield process.pid
    finally:
        if process.pid is not None:
            kill_leftovers(process.pid)


def kill_leftovers(group: int, grace: float = 10.0) -> None:
    """SIGKILL the processes of `group` still alive `grace` s after its leader stopped: a
    server's children may outlive it (Triton's tritonserver and PyTriton's workers do)."""
    deadline = time.monotonic() + grace
    while group_members(group) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def group_cpu_seconds(group: int) -> float:
    """User + system CPU time of every live process in a process group."""
    return sum(ticks for _pid, ticks in group_members(group)) / os.sysconf("SC_CLK_TCK")


def group_members(group: int) -> list[tuple[int, int]]:
    """The live processes of a process group: (pid, user + system clock ticks) each."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            member_group, ticks = stat_ticks(stat)
        except OSError:
            continue  # the process ended meanwhile
        if member_group == group:
            members.append((int(stat.parent.name), ticks))
    return members


def stat_ticks(stat: Path) -> tuple[int, int]:
    """A /proc/<pid>/stat file's process group and user + system clock ticks."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return int(fields[2]), int(fields[11]) + int(fields[12])


def tool(name: str, debian_package: str) -> str:
    """The path of a load generator, or exit saying how to install it."""
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"{name} not found: install it with `apt-get install {debian_package}`")
    return found
