"""The benchmarks' peers (KServe, MLflow, an older app) live in virtualenvs of their own, made
with uv, so they never mix with the project's dependencies.

uv is the one on PATH, else the copy `make install` bootstraps into `.tools/`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench import REPO

PEER_MODELS = REPO / "bench" / "peer_models"
"""The programs a peer's own python runs (they import the peer, never this project)."""


def uv_binary() -> str:
    bootstrapped = REPO / ".tools" / "bin" / "uv"
    found = shutil.which("uv") or (str(bootstrapped) if bootstrapped.exists() else None)
    if found is None:
        raise SystemExit("uv not found: run `make install` (it bootstraps uv into .tools/)")
    return found


def ensure_peer_venv(venv: Path, packages: list[str], python: str = "3.11") -> Path:
    """`venv` on `python` (a version uv finds, or an interpreter's path) with `packages`
    installed, created on first use; returns its python."""
    venv_python = venv / "bin" / "python"
    if not venv_python.exists():
        print(f"installing {' '.join(packages)} into {venv} (first run only)...", flush=True)
        uv = uv_binary()
        subprocess.run([uv, "venv", "-q", str(venv), "--python", python], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(venv_python), *packages],
                       check=True)  # fmt: skip
    return venv_python


def installed_version(python: Path, distribution: str) -> str:
    """The version of `distribution` in the virtualenv of `python`."""
    code = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    return subprocess.check_output([str(python), "-c", code], text=True).strip()
