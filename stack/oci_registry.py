"""A real OCI registry for the demo and the tests: Debian's `docker-registry` (CNCF distribution).

It speaks the OCI distribution API (`/v2/...`) on loopback over plain HTTP, keeps its blobs
under the state directory and needs no login. Publishing pushes each version's modelcar
image here; the inference server pulls it back by digest. Nothing else is specific to this
server: quay.io, Harbor or a cloud registry work by changing `OCI_REGISTRY`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stack.proc import ServiceProcess, free_port, loopback_service

DEFAULT_OCI_PORT = 5000
BINARY = "docker-registry"

CONFIG_TEMPLATE = """\
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:{port}
  secret: {secret}
"""


def registry_binary() -> str:
    """Path of Debian's `docker-registry` executable."""
    found = shutil.which(BINARY)
    if found is None:
        raise FileNotFoundError(
            "`docker-registry` not found: run `make system-deps` (Debian package docker-registry)."
        )
    return found


def write_config(path: Path, storage_dir: Path, port: int) -> Path:
    """The registry's config: filesystem storage, deletes allowed, loopback only, no auth."""
    secret = f"local-{port}"  # one process, no load balancer: any constant will do
    path.write_text(CONFIG_TEMPLATE.format(storage=storage_dir.resolve(), port=port,
                                           secret=secret))  # fmt: skip
    return path


def oci_registry_process(data_dir: Path, log_path: Path, port: int) -> ServiceProcess:
    """A ServiceProcess for docker-registry on 127.0.0.1:`port`."""
    storage = data_dir / "storage"
    storage.mkdir(parents=True, exist_ok=True)
    config = write_config(data_dir / "config.yml", storage, port)
    command = [registry_binary(), "serve", str(config)]
    return loopback_service("oci (docker-registry)", command, log_path, port, "/v2/")


@contextmanager
def running_oci_registry(root: Path) -> Iterator[ServiceProcess]:
    """docker-registry with its storage and log under `root` on a free port; stopped on exit.
    Its `address` is what image references name; its `url` serves the distribution API."""
    port = free_port()
    process = oci_registry_process(root / "data", root / "oci-registry.log", port)
    with process.start():
        process.wait_healthy(timeout=30)
        yield process
