"""`python -m serving.controller --target kserve` as a process: `--dry-run --out DIR` against a
real registry, and the reconcile loop against the in-memory API server via a kubeconfig."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_kube_api import FakeKubeApi
from kserve_schema import violations
from kserve_support import ENVIRONMENT, NAMESPACE, RegistryData, write_kubeconfig

from serving.controller.kserve.resources import resource_name

pytestmark = pytest.mark.server

REPO = Path(__file__).resolve().parents[3]


def controller(registry_url: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "serving.controller", "--registry-url", registry_url,
            "--environment", ENVIRONMENT, "--target", "kserve", *args]  # fmt: skip


def run(command: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, **(env or {})}
    return subprocess.run(
        command, capture_output=True, text=True, timeout=60, cwd=REPO, env=environ, check=False
    )


def manifests(out: Path) -> dict[str, dict[str, Any]]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(out.glob("*.yaml"))}


@pytest.fixture
def registry(registry_server: Any) -> RegistryData:
    return RegistryData(registry_server.url)


def test_dry_run_writes_valid_manifests_and_leaves_the_registry_alone(
    registry_server: Any, registry: RegistryData, tmp_path: Path
) -> None:
    environment, model = registry.environment(), registry.model()
    v1 = registry.version(model, "v1")
    first = registry.service(environment, "mnist-e2e", model, modelVersionId=v1)
    registry.service(environment, "Digits Canary", model, modelVersionId=v1)
    registry.service(environment, "stopped", model, desiredState="UNDEPLOYED")
    out = tmp_path / "manifests"
    result = run(
        controller(registry_server.url, "--dry-run", "--out", str(out), "--namespace", NAMESPACE)
    )
    assert result.returncode == 0, result.stderr
    written = manifests(out)
    assert set(written) == {"mnist-e2e.yaml", f"{resource_name('Digits Canary')}.yaml"}
    for document in written.values():
        assert violations(document) == []
    assert (
        written["mnist-e2e.yaml"]["metadata"]["labels"][
            "modelregistry.kubeflow.org/inference-service-id"
        ]
        == first
    )
    assert (registry.serves(first), registry.url_of(first)) == ([], None)


def test_dry_run_removes_manifests_of_undeployed_services_only(
    registry_server: Any, registry: RegistryData, tmp_path: Path
) -> None:
    environment, model = registry.environment(), registry.model()
    registry.version(model, "v1")
    service = registry.service(environment, "mnist-e2e", model)
    out = tmp_path / "manifests"
    out.mkdir()
    (out / "kustomization.yaml").write_text("resources: []\n")
    (out / "someone-else.yaml").write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
    )
    command = controller(registry_server.url, "--dry-run", "--out", str(out))
    assert run(command).returncode == 0
    assert "mnist-e2e.yaml" in manifests(out)
    registry.patch_service(service, desiredState="UNDEPLOYED")
    assert run(command).returncode == 0
    assert set(manifests(out)) == {"kustomization.yaml", "someone-else.yaml"}


def test_dry_run_exits_1_naming_a_service_it_cannot_resolve(
    registry_server: Any, registry: RegistryData, tmp_path: Path
) -> None:
    environment, model = registry.environment(), registry.model()
    good = registry.version(model, "v1")
    bad = registry.version(model, "v2", uri="s3://other-bucket/MNIST/v2/model.onnx")
    registry.service(environment, "good", model, modelVersionId=good)
    registry.service(environment, "bad", model, modelVersionId=bad)
    result = run(controller(registry_server.url, "--dry-run", "--out", str(tmp_path)))
    assert result.returncode == 1
    assert "inference service bad" in result.stderr
    assert "other-bucket" in result.stderr
    assert set(manifests(tmp_path)) == {"good.yaml"}


def test_dry_run_without_serving_environment_creates_nothing(
    registry_server: Any, registry: RegistryData, tmp_path: Path
) -> None:
    result = run(controller(registry_server.url, "--dry-run", "--out", str(tmp_path / "out")))
    assert result.returncode == 0, result.stderr
    assert "nothing to write" in result.stderr
    assert registry.environment_names() == []
    assert manifests(tmp_path / "out") == {}


def test_dry_run_with_unreachable_registry_exits_2(tmp_path: Path) -> None:
    from stack.proc import free_port

    result = run(controller(f"http://127.0.0.1:{free_port()}", "--dry-run", "--out", str(tmp_path)))
    assert result.returncode == 2
    assert "registry unreachable" in result.stderr


def test_dry_run_needs_the_kserve_target(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "serving.controller", "--dry-run", "--out", str(tmp_path)]
    result = run(command)
    assert result.returncode == 2
    assert "add --target kserve" in result.stderr


def test_kserve_target_without_cluster_configuration_exits_with_reason(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-kubeconfig"
    result = run(
        controller("http://127.0.0.1:9", "--kubeconfig", str(missing)), env={"HOME": str(tmp_path)}
    )
    assert result.returncode == 1
    assert "no Kubernetes configuration" in result.stderr


@pytest.fixture
def kube() -> Iterator[FakeKubeApi]:
    with FakeKubeApi().running() as api:
        yield api


def test_controller_process_applies_resources_in_the_kubeconfig_namespace(
    registry_server: Any, registry: RegistryData, kube: FakeKubeApi, tmp_path: Path
) -> None:
    environment, model = registry.environment(), registry.model()
    registry.version(model, "v1")
    registry.service(environment, "mnist-e2e", model)
    kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kube.url, namespace="team-a")
    command = controller(registry_server.url, "--interval", "0.2", "--kserve-mode", "RawDeployment")
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    with (tmp_path / "controller.log").open("w") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 30
            while "mnist-e2e" not in kube.objects("team-a") and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
    resource = kube.objects("team-a")["mnist-e2e"]
    assert (
        resource["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "RawDeployment"
    )
    assert (
        "KServe InferenceServices (RawDeployment) in namespace team-a"
        in (tmp_path / "controller.log").read_text()
    )
