"""deploy/k8s/overlays/kserve switches the controller to the KServe target: rendered offline
with `kubectl kustomize`, then its controller container run as a local process (env from the
rendered ConfigMap, downward API and Secret refs; only the registry and the API server moved
to loopback) against a real registry and the in-memory API server."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_kube_api import FakeKubeApi
from kserve_schema import object_violations, schema_violations
from kserve_support import NAMESPACE, RegistryData, write_kubeconfig

REPO = Path(__file__).resolve().parents[3]
OVERLAY = REPO / "deploy" / "k8s" / "overlays" / "kserve"
# What the KServe target asks of the API server (serving/controller/kserve/api.py).
VERBS_USED = {"list", "get", "create", "patch", "delete"}


@pytest.fixture(scope="module")
def rendered() -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl is not on PATH; `make system-deps`"
    output = subprocess.run(
        [kubectl, "kustomize", str(OVERLAY)], capture_output=True, text=True, check=True
    )
    return [doc for doc in yaml.safe_load_all(output.stdout) if doc]


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def controller_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = find(objects, "Deployment", "model-controller")
    return dict(deployment["spec"]["template"]["spec"]["containers"][0])


def container_env(
    objects: list[dict[str, Any]], secrets: dict[str, dict[str, str]]
) -> dict[str, str]:
    """The controller's environment as the kubelet would build it."""
    container = controller_container(objects)
    namespace = find(objects, "Deployment", "model-controller")["metadata"]["namespace"]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        config_map = find(objects, "ConfigMap", source["configMapRef"]["name"])
        env.update(config_map["data"])
    for item in container.get("env", []):
        ref = item.get("valueFrom", {})
        if "fieldRef" in ref:
            assert ref["fieldRef"]["fieldPath"] == "metadata.namespace"
            env[item["name"]] = namespace
        elif "secretKeyRef" in ref:
            env[item["name"]] = secrets[ref["secretKeyRef"]["name"]][ref["secretKeyRef"]["key"]]
        else:
            env[item["name"]] = item["value"]
    return env


def test_render_kserve_overlay_switches_controller_and_drops_bundled_server(
    rendered: list[dict[str, Any]],
) -> None:
    names = {(o["kind"], o["metadata"]["name"]) for o in rendered}
    assert not {("Deployment", "mnist-serving"), ("Service", "mnist-serving")} & names
    env = container_env(rendered, {"aws-connection-models": {"AWS_S3_BUCKET": "models"}})
    assert (env["CONTROLLER_TARGET"], env["KSERVE_DEPLOYMENT_MODE"]) == ("kserve", "ModelMesh")
    assert env["KSERVE_NAMESPACE"] == NAMESPACE
    assert "SERVING_AUTH_TOKEN" not in env


def test_render_kserve_overlay_role_allows_what_the_target_does(
    rendered: list[dict[str, Any]],
) -> None:
    rules = find(rendered, "Role", "model-controller")["rules"]
    allowed = {
        verb for rule in rules if "inferenceservices" in rule["resources"] for verb in rule["verbs"]
    }
    assert allowed >= VERBS_USED
    assert {group for rule in rules for group in rule["apiGroups"]} == {"serving.kserve.io"}


@pytest.mark.server
def test_replay_kserve_overlay_controller_creates_valid_resource(
    rendered: list[dict[str, Any]], registry_server: Any, tmp_path: Path
) -> None:
    registry = RegistryData(registry_server.url)
    env = container_env(rendered, {"aws-connection-models": {"AWS_S3_BUCKET": "models"}})
    registry_environment = registry.environment(env["SERVING_ENVIRONMENT"])
    model = registry.model()
    registry.version(model, "v1")
    registry.service(registry_environment, "mnist-e2e", model, runtime=env["SERVING_RUNTIME"])
    with FakeKubeApi().running() as kube:
        env |= {"MODEL_REGISTRY_URL": registry_server.url, "CONTROLLER_INTERVAL": "0.2",
                "KUBECONFIG": str(write_kubeconfig(tmp_path / "kubeconfig", kube.url))}  # fmt: skip
        command = [sys.executable, *controller_container(rendered)["command"][1:]]
        with (tmp_path / "controller.log").open("w") as log:
            process = subprocess.Popen(
                command, cwd=REPO, env={**os.environ, **env}, stdout=log, stderr=log
            )
            deadline = time.monotonic() + 30
            while not kube.objects(NAMESPACE) and time.monotonic() < deadline:
                time.sleep(0.1)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        resource = kube.objects(NAMESPACE)["mnist-e2e"]
    assert schema_violations(resource) + object_violations(resource, generated=False) == []
    assert resource["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "ModelMesh"
    assert resource["spec"]["predictor"]["model"]["runtime"] == env["SERVING_RUNTIME"]
