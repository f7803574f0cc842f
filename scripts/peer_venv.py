"""The benchmarks' peers (KServe, MLflow) live in virtualenvs of their own, made with uv.

uv is the one on PATH, else the copy `make install` bootstraps into `.tools/`.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def uv_binary() -> str:
    bootstrapped = REPO / ".tools" / "bin" / "uv"
    found = shutil.which("uv") or (str(bootstrapped) if bootstrapped.exists() else None)
    if found is None:
        raise SystemExit("uv not found: run `make install` (it bootstraps uv into .tools/)")
    return found


def ensure_peer_venv(venv: Path, packages: list[str]) -> Path:
    """`venv` with `packages` installed (created on first use); returns its python."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"installing {' '.join(packages)} into {venv} (first run only)...", flush=True)
        uv = uv_binary()
        subprocess.run([uv, "venv", "-q", str(venv), "--python", "3.11"], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), *packages],
                       check=True)  # fmt: skip
    return python
