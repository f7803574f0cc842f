"""Fixtures shared by every test area: real servers on loopback, started and stopped here.

Area-specific fixtures live in tests/<area>/conftest.py.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from stack.oci_registry import running_oci_registry
from stack.proc import ServiceProcess, free_port, http_ok
from stack.seaweed import S3Settings, running_seaweed
from training.modelcar import ModelcarImage, OciSettings, publish_modelcar

REPO = Path(__file__).resolve().parent.parent

# No test, nor any process a test starts (notebook kernels, the pipeline, scripts), pushes a
# modelcar to whatever answers at the default OCI_REGISTRY (localhost:5000: a developer's
# `make up`, whose tags it would move): empty means no modelcar. A test that wants modelcars
# starts its own registry and names it.
os.environ["OCI_REGISTRY"] = ""


@dataclass(frozen=True)
class RunningRegistry:
    """A registry_local server process on loopback."""

    url: str
    port: int
    database_url: str
    process: ServiceProcess


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests leave files for people to look at (screenshots, reports)."""
    path = REPO / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Settings]:
    """A real SeaweedFS S3 server with the `models` bucket, for the whole session."""
    with running_seaweed(tmp_path_factory.mktemp("seaweed")) as process:
        yield S3Settings(endpoint=process.url)


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A real OCI registry (Debian's docker-registry) on a free loopback port, for the session."""
    with running_oci_registry(tmp_path_factory.mktemp("oci-registry")) as registry:
        yield registry


@pytest.fixture
def push_modelcar(oci_registry: ServiceProcess, tmp_path: Path) -> Callable[..., ModelcarImage]:
    """push_modelcar(files, repository="mnist", tag="v1"): build a modelcar of `files`
    ({name: bytes}, put under /models/) with olot and push it to the session's registry."""

    def push(files: dict[str, bytes], repository: str = "mnist", tag: str = "v1") -> ModelcarImage:
        folder = Path(tempfile.mkdtemp(prefix="modelcar-files-", dir=tmp_path))
        paths = [folder / name for name in files]
        for path, data in zip(paths, files.values(), strict=True):
            path.write_bytes(data)
        return publish_modelcar(paths, OciSettings(oci_registry.address), repository, tag)

    return push


def start_registry(tmp_path: Path, *extra_args: str) -> RunningRegistry:
    """Start `python -m registry_local` on a free port with a fresh SQLite database."""
    port = free_port()
    database_url = f"sqlite:///{tmp_path / 'registry.db'}"
    command = [sys.executable, "-m", "registry_local", "--host", "127.0.0.1",
               "--port", str(port), "--database-url", database_url, *extra_args]  # fmt: skip
    process = ServiceProcess(
        name="registry",
        command=command,
        log_path=tmp_path / "registry.log",
        health=lambda: http_ok(f"http://127.0.0.1:{port}/readyz/health"),
        cwd=REPO,
    )
    process.start().wait_healthy(timeout=60)
    return RunningRegistry(f"http://127.0.0.1:{port}", port, database_url, process)


@pytest.fixture
def make_registry_server(tmp_path: Path) -> Iterator[Callable[..., RunningRegistry]]:
    """Start a fresh registry_local (its own SQLite database) with extra flags; stopped after."""
    with ExitStack() as running:

        def make(*extra_args: str) -> RunningRegistry:
            root = Path(tempfile.mkdtemp(prefix="registry-", dir=tmp_path))
            registry = start_registry(root, *extra_args)
            running.enter_context(registry.process)
            return registry

        yield make


@pytest.fixture
def registry_server(make_registry_server: Callable[..., RunningRegistry]) -> RunningRegistry:
    """A fresh registry_local server (empty SQLite database) for one test."""
    return make_registry_server()
