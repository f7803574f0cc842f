"""JupyterLab on the notebooks: loopback only, with a token kept in the state directory, so
the URL printed is the exact one that opens (and stays the same across runs)."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from stack.proc import ServiceProcess, http_ok
from stack.settings import StackSettings

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def lab_token(settings: StackSettings) -> str:
    """The lab's token: made once, kept in `<state>/lab-token` readable only by its owner."""
    path = settings.state_dir / "lab-token"
    if not path.exists():
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(24))
    return path.read_text().strip()


def lab_url(settings: StackSettings) -> str:
    """The URL that opens the lab, token included."""
    return f"http://localhost:{settings.lab_port}/lab?token={lab_token(settings)}"


def lab_health_url(settings: StackSettings) -> str:
    """`/api` answers without the token once the server is up."""
    return f"http://127.0.0.1:{settings.lab_port}/api"


def lab_arguments(settings: StackSettings, as_root: bool) -> list[str]:
    """`jupyter lab`'s arguments: exactly LAB_PORT (no silent move to the next port, so the
    printed URL is right); `--allow-root` only for root, which Jupyter refuses otherwise."""
    arguments = ["-m", "jupyter", "lab", "--ip", "127.0.0.1", "--port", str(settings.lab_port),
                 "--no-browser", "--ServerApp.port_retries=0",
                 f"--IdentityProvider.token={lab_token(settings)}",
                 f"--ServerApp.root_dir={NOTEBOOKS}"]  # fmt: skip
    return [*arguments, "--allow-root"] if as_root else arguments


def lab_process(settings: StackSettings) -> ServiceProcess:
    """The lab as a demo service: its kernels get the demo's settings (`service_env`)."""
    health_url = lab_health_url(settings)
    return ServiceProcess(
        name="lab",
        command=[sys.executable, *lab_arguments(settings, as_root=os.geteuid() == 0)],
        log_path=settings.logs_dir / "lab.log",
        health=lambda: http_ok(health_url),
        env=settings.service_env(),
        cwd=NOTEBOOKS.parent,
    )
