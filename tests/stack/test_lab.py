"""`make lab` (and the lab `make up`/`make demo` start): loopback, LAB_PORT, `--allow-root` only
for root, and the printed URL is the one that opens."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from stack.lab import lab_arguments, lab_token, lab_url
from stack.proc import free_port, stop_process_group
from stack.services import service_specs
from stack.settings import StackSettings

REPO = Path(__file__).resolve().parents[2]


def lab_settings(tmp_path: Path, port: int = 8899) -> StackSettings:
    return StackSettings.load({"state_dir": str(tmp_path), "lab_port": str(port)})


def test_lab_allows_root_only_when_run_as_root(tmp_path: Path) -> None:
    settings = lab_settings(tmp_path)
    assert "--allow-root" in lab_arguments(settings, as_root=True)
    assert "--allow-root" not in lab_arguments(settings, as_root=False)


def test_lab_binds_loopback_on_lab_port(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAB_PORT", "8777")
    settings = StackSettings.load({"state_dir": str(tmp_path)})
    arguments = lab_arguments(settings, as_root=False)
    assert arguments[arguments.index("--ip") + 1] == "127.0.0.1"
    assert arguments[arguments.index("--port") + 1] == "8777"
    assert "--ServerApp.port_retries=0" in arguments  # never another port than the URL's
    assert lab_url(settings).startswith("http://localhost:8777/lab?token=")


def test_lab_token_is_kept_private_and_stable(tmp_path: Path) -> None:
    settings = lab_settings(tmp_path)
    first = lab_token(settings)
    assert len(first) == 48
    assert lab_token(settings) == first
    assert (tmp_path / "lab-token").stat().st_mode & 0o077 == 0


def test_make_up_and_make_demo_start_the_lab_unless_told_not_to(tmp_path: Path) -> None:
    settings = lab_settings(tmp_path)
    assert "lab" in [spec.name for spec in service_specs(settings)]
    assert "lab" not in [spec.name for spec in service_specs(settings, with_lab=False)]


@pytest.mark.server
def test_stack_lab_prints_the_url_that_opens(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "STATE_DIR": str(tmp_path), "LAB_PORT": str(port)}
    lab = subprocess.Popen([sys.executable, "-m", "stack", "lab"], cwd=REPO, env=env,
                           stdout=subprocess.PIPE, text=True, start_new_session=True)  # fmt: skip
    try:
        url = printed_lab_url(lab)
        assert url == f"http://localhost:{port}/lab?token={lab_token(lab_settings(tmp_path, port))}"
        assert httpx.get(url, timeout=30).status_code == 200
        without_token = httpx.get(url.split("?")[0], timeout=30)
        assert without_token.status_code == 302
        assert "/login" in without_token.headers["location"]
    finally:
        lab.terminate()  # SIGTERM to `python -m stack lab` alone, as `kill` would send it
        lab.wait(timeout=30)
        stop_process_group(lab.pid, kill_after=10)
    assert not port_answers(port)  # JupyterLab went with it


@pytest.mark.server
def test_stack_lab_on_a_taken_port_names_lab_port(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "STATE_DIR": str(tmp_path), "LAB_PORT": str(port)}
        lab = subprocess.run([sys.executable, "-m", "stack", "lab"], cwd=REPO, env=env,
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert lab.returncode == 1
    assert f"port {port} for lab is already in use" in lab.stderr
    assert "set LAB_PORT" in lab.stderr


def printed_lab_url(lab: subprocess.Popen[str], timeout: float = 120) -> str:
    """The URL in `python -m stack lab`'s banner (printed once the lab is healthy)."""
    assert lab.stdout is not None
    deadline = time.monotonic() + timeout
    for line in lab.stdout:
        found = re.search(r"JupyterLab on (\S+)", line)
        if found:
            return found.group(1)
        assert time.monotonic() < deadline, "no URL printed in time"
    raise AssertionError(f"python -m stack lab exited ({lab.wait()}) without printing a URL")


def port_answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
