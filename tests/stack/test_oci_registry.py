"""The OCI registry the demo and the tests start: Debian's docker-registry on loopback."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from stack.oci_registry import oci_registry_process, running_oci_registry
from stack.proc import ServiceError, ServiceProcess, free_port
from stack.runner import refuse_taken_port
from stack.services import service_specs
from stack.settings import SETTINGS, StackSettings

pytestmark = pytest.mark.server


def test_oci_registry_speaks_the_distribution_api(oci_registry: ServiceProcess) -> None:
    response = httpx.get(f"{oci_registry.url}/v2/")
    assert response.status_code == 200
    assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    missing = httpx.get(f"{oci_registry.url}/v2/no-such-repo/manifests/latest")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_oci_registry_keeps_blobs_under_its_root_and_stops(tmp_path: Path) -> None:
    with running_oci_registry(tmp_path) as registry:
        upload = httpx.post(f"{registry.url}/v2/probe/blobs/uploads/")
        assert upload.status_code == 202
    assert not registry.alive()
    assert (tmp_path / "data" / "storage" / "docker" / "registry" / "v2" / "repositories"
            / "probe").is_dir()  # fmt: skip


def test_oci_registry_on_a_taken_port_fails_with_its_log(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = oci_registry_process(tmp_path / "data", tmp_path / "oci.log", port=port)
        with process.start(), pytest.raises(ServiceError, match="address already in use"):
            process.wait_healthy(timeout=10)


def test_make_up_names_the_variable_to_change_when_a_port_is_taken(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("OCI_REGISTRY", f"localhost:{port}")
        specs = {spec.name: spec for spec in service_specs(StackSettings.load(), with_lab=True)}
        with pytest.raises(ServiceError, match=f"port {port} for oci .* set OCI_REGISTRY to"):
            refuse_taken_port(specs["oci"])
    documented = {setting.env for setting in SETTINGS}
    assert all(spec.setting in documented for spec in specs.values() if spec.port)


def test_oci_registry_without_the_debian_package_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="make system-deps"):
        oci_registry_process(tmp_path, tmp_path / "oci.log", port=free_port())
