"""The controller's KServe target: a real registry_local process, the real `kubernetes`
client, and an in-memory API server standing in for the cluster (none exists here).

KServe's own controller is played by the test: it writes each resource's `status`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_kube_api import FakeKubeApi
from kserve_schema import object_violations, schema_violations
from kserve_support import ENVIRONMENT, NAMESPACE, KServePlayer, RegistryData, write_kubeconfig

from serving.controller.__main__ import build_reconciler
from serving.controller.config import ControllerSettings
from serving.controller.kserve.resources import resource_name
from serving.controller.reconcile import Reconciler
from serving.controller.resolve import resolve_model

pytestmark = pytest.mark.server

MakeReconciler = Callable[..., Reconciler[Any]]
MODELMESH_URL = f"http://modelmesh-serving.{NAMESPACE}:8008/v2/models"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def kube() -> Iterator[FakeKubeApi]:
    with FakeKubeApi().running() as api:
        yield api


@pytest.fixture
def registry(registry_server: Any) -> RegistryData:
    return RegistryData(registry_server.url)


@pytest.fixture
def player(kube: FakeKubeApi) -> KServePlayer:
    return KServePlayer(kube.url)


@pytest.fixture
def make_reconciler(
    kube: FakeKubeApi, registry_server: Any, tmp_path: Path
) -> Iterator[MakeReconciler]:
    """make_reconciler(**settings): the controller as `--target kserve` builds it."""
    made: list[Reconciler[Any]] = []

    def make(**overrides: Any) -> Reconciler[Any]:
        kubeconfig = write_kubeconfig(tmp_path / "kubeconfig", kube.url)
        values = {
            "registry_url": registry_server.url,
            "environment": ENVIRONMENT,
            "target": "kserve",
            "namespace": NAMESPACE,
            "kubeconfig": str(kubeconfig),
            "request_timeout": 30.0,  # the shared test machine is busy at times
            **overrides,
        }
        made.append(build_reconciler(ControllerSettings(**values)))
        made[-1].backoff.clock = Clock()
        return made[-1]

    yield make
    for reconciler in made:
        reconciler.registry.close()
        reconciler.target.close()


@pytest.fixture
def mnist(registry: RegistryData) -> dict[str, str]:
    """Serving environment, MNIST with versions v1 and v2, service `mnist-e2e` pinned to v1."""
    environment = registry.environment()
    model = registry.model()
    v1, v2 = registry.version(model, "v1"), registry.version(model, "v2")
    service = registry.service(environment, "mnist-e2e", model, modelVersionId=v1)
    return {"environment": environment, "model": model, "v1": v1, "v2": v2, "service": service}


@dataclass
class Scene:
    """The registry with `mnist-e2e` (pinned to v1), the API server, KServe, the controller."""

    kube: FakeKubeApi
    registry: RegistryData
    player: KServePlayer
    ids: dict[str, str]
    reconciler: Reconciler[Any]

    def reconcile(self, times: int = 1) -> None:
        for _ in range(times):
            assert self.reconciler.reconcile_once(), self.reconciler.faults.current

    def serve(self) -> None:
        """A pass creating the resource, KServe reporting it ready, a pass reading that."""
        self.reconcile()
        self.player.ready_modelmesh("mnist-e2e")
        self.reconcile()

    def serves(self) -> list[tuple[str, str, str]]:
        return self.registry.serves(self.ids["service"])

    def resource(self) -> dict[str, Any]:
        return self.kube.objects(NAMESPACE)["mnist-e2e"]


@pytest.fixture
def scene(
    kube: FakeKubeApi,
    registry: RegistryData,
    player: KServePlayer,
    mnist: dict[str, str],
    make_reconciler: MakeReconciler,
) -> Scene:
    return Scene(kube, registry, player, mnist, make_reconciler())


def test_reconcile_creates_one_valid_resource_per_deployed_service(
    kube: FakeKubeApi,
    registry: RegistryData,
    mnist: dict[str, str],
    make_reconciler: MakeReconciler,
) -> None:
    registry.service(mnist["environment"], "My Digits", mnist["model"])  # latest version: v2
    registry.service(mnist["environment"], "stopped", mnist["model"], desiredState="UNDEPLOYED")
    registry.service(mnist["environment"], "elsewhere", mnist["model"], runtime="ovms")
    assert make_reconciler().reconcile_once()
    objects = kube.objects(NAMESPACE)
    assert set(objects) == {"mnist-e2e", resource_name("My Digits")}
    for resource in objects.values():
        assert schema_violations(resource) + object_violations(resource, generated=False) == []
    resource = objects["mnist-e2e"]
    assert resource["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "model-controller",
        "modelregistry.kubeflow.org/serving-environment": ENVIRONMENT,
        "modelregistry.kubeflow.org/inference-service-id": mnist["service"],
        "modelregistry.kubeflow.org/registered-model-id": mnist["model"],
        "modelregistry.kubeflow.org/model-version-id": mnist["v1"],
    }
    assert resource["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "ModelMesh"
    assert resource["spec"] == {
        "predictor": {
            "model": {
                "modelFormat": {"name": "onnx", "version": "1"},
                "runtime": "mmserver1",
                "storage": {"key": "aws-connection-models", "path": "MNIST/v1"},
            }
        }
    }
    digits = objects[resource_name("My Digits")]["metadata"]
    assert digits["labels"]["modelregistry.kubeflow.org/model-version-id"] == mnist["v2"]
    assert digits["annotations"]["modelregistry.kubeflow.org/inference-service-name"] == "My Digits"
    assert all(r.query.get("fieldValidation") == ["Strict"] for r in kube.writes())
    assert (registry.serves(mnist["service"]), registry.url_of(mnist["service"])) == ([], None)


MODELCAR_DIGEST = "sha256:" + "ab" * 32


def modelcar_version(registry: RegistryData, model_id: str, name: str, uri: str) -> str:
    """A version whose artifact is a modelcar, recorded as training records one."""
    digest = {"metadataType": "MetadataStringValue", "string_value": MODELCAR_DIGEST}
    return registry.version(model_id, name, uri=uri, storageKey=None, storagePath=None,
                            customProperties={"modelcar_digest": digest})  # fmt: skip


def test_reconcile_serves_a_modelcar_from_its_digest_pinned_oci_uri(
    kube: FakeKubeApi, registry: RegistryData, mnist: dict[str, str],
    make_reconciler: MakeReconciler,
) -> None:  # fmt: skip
    car = modelcar_version(registry, mnist["model"], "v3", "oci://localhost:5000/mnist:v3")
    registry.service(mnist["environment"], "car", mnist["model"], modelVersionId=car)
    assert make_reconciler().reconcile_once()
    resource = kube.objects(NAMESPACE)["car"]
    assert schema_violations(resource) + object_violations(resource, generated=False) == []
    assert resource["spec"]["predictor"]["model"] == {
        "modelFormat": {"name": "onnx", "version": "1"},
        "runtime": "mmserver1",
        "storageUri": f"oci://localhost:5000/mnist@{MODELCAR_DIGEST}",
    }


def test_reconcile_pins_a_modelcar_named_by_digest_alone(
    kube: FakeKubeApi, registry: RegistryData, mnist: dict[str, str],
    make_reconciler: MakeReconciler,
) -> None:  # fmt: skip
    uri = f"oci://localhost:5000/acme/mnist@{MODELCAR_DIGEST}"
    car = modelcar_version(registry, mnist["model"], "v3", uri)
    registry.service(mnist["environment"], "car", mnist["model"], modelVersionId=car)
    assert make_reconciler().reconcile_once()
    resource = kube.objects(NAMESPACE)["car"]
    assert schema_violations(resource) == []
    assert resource["spec"]["predictor"]["model"]["storageUri"] == uri


def test_reconcile_refuses_a_modelcar_whose_uri_and_recorded_digest_differ(
    kube: FakeKubeApi, registry: RegistryData, mnist: dict[str, str],
    make_reconciler: MakeReconciler,
) -> None:  # fmt: skip
    other = "sha256:" + "cd" * 32
    uri = f"oci://localhost:5000/mnist:v3@{other}"
    car = modelcar_version(registry, mnist["model"], "v3", uri)
    service = registry.service(mnist["environment"], "car", mnist["model"], modelVersionId=car)
    assert make_reconciler().reconcile_once()
    assert "car" not in kube.objects(NAMESPACE)
    [(version, state, reason)] = registry.serves(service)
    assert (version, state) == (car, "FAILED")
    assert f"names digest {other}, the registry records {MODELCAR_DIGEST}" in reason


def test_reconcile_refuses_a_modelcar_from_a_registry_not_allowed(
    kube: FakeKubeApi, registry: RegistryData, mnist: dict[str, str],
    make_reconciler: MakeReconciler,
) -> None:  # fmt: skip
    car = modelcar_version(registry, mnist["model"], "v3", "oci://quay.io/acme/mnist:v3")
    service = registry.service(mnist["environment"], "car", mnist["model"], modelVersionId=car)
    assert make_reconciler().reconcile_once()
    assert "car" not in kube.objects(NAMESPACE)
    [(version, state, reason)] = registry.serves(service)
    assert (version, state) == (car, "FAILED")
    assert "registry 'quay.io' is not allowed" in reason


def test_reconcile_records_running_and_url_once_kserve_reports_ready(scene: Scene) -> None:
    scene.reconcile(times=2)
    assert scene.serves() == []
    scene.player.ready_modelmesh("mnist-e2e")
    scene.reconcile()
    assert scene.serves() == [(scene.ids["v1"], "RUNNING", "")]
    assert scene.registry.url_of(scene.ids["service"]) == f"{MODELMESH_URL}/mnist-e2e"
    writes = len(scene.kube.writes())
    scene.reconcile()
    assert len(scene.kube.writes()) == writes
    assert scene.serves() == [(scene.ids["v1"], "RUNNING", "")]


def test_reconcile_patches_resource_when_the_version_changes(scene: Scene) -> None:
    v1, v2 = scene.ids["v1"], scene.ids["v2"]
    scene.serve()
    scene.registry.patch_service(scene.ids["service"], modelVersionId=v2)
    scene.reconcile()
    patched = scene.resource()
    assert patched["metadata"]["generation"] == 2
    assert patched["metadata"]["labels"]["modelregistry.kubeflow.org/model-version-id"] == v2
    assert patched["spec"]["predictor"]["model"]["storage"]["path"] == "MNIST/v2"
    patches = [r for r in scene.kube.writes() if r.method == "PATCH" and "status" not in r.path]
    assert [r.content_type for r in patches] == ["application/merge-patch+json"]
    assert scene.serves() == [(v1, "RUNNING", "")]  # KServe's status is for the old spec
    scene.player.ready_modelmesh("mnist-e2e")
    scene.reconcile()
    assert scene.serves() == [
        (v1, "RUNNING", ""),
        (v1, "COMPLETE", f"replaced by version {v2}"),
        (v2, "RUNNING", ""),
    ]


def test_reconcile_deletes_resource_when_undeployed_and_recreates_it(scene: Scene) -> None:
    scene.serve()
    scene.registry.patch_service(scene.ids["service"], desiredState="UNDEPLOYED")
    scene.reconcile()
    assert scene.kube.objects(NAMESPACE) == {}
    scene.registry.patch_service(scene.ids["service"], desiredState="DEPLOYED")
    scene.serve()
    v1 = scene.ids["v1"]
    assert scene.serves() == [
        (v1, "RUNNING", ""),
        (v1, "COMPLETE", "undeployed"),
        (v1, "RUNNING", ""),
    ]


def test_reconcile_deletes_once_while_kserve_finalizers_run(scene: Scene) -> None:
    scene.reconcile()
    scene.player.patch("mnist-e2e", {"metadata": {"finalizers": ["inferenceservice.finalizers"]}})
    scene.registry.patch_service(scene.ids["service"], desiredState="UNDEPLOYED")
    scene.reconcile(times=2)
    assert [r.method for r in scene.kube.writes()].count("DELETE") == 1
    assert scene.resource()["metadata"]["deletionTimestamp"]
    scene.player.patch("mnist-e2e", {"metadata": {"finalizers": None}})
    assert scene.kube.objects(NAMESPACE) == {}


def test_reconcile_records_kserve_load_failure_once_then_recovery(scene: Scene) -> None:
    scene.reconcile()
    scene.player.failed_load("mnist-e2e", "RuntimeUnhealthy: no mmserver1 pod could load MNIST/v1")
    scene.reconcile(times=3)
    failed = (scene.ids["v1"], "FAILED", "RuntimeUnhealthy: no mmserver1 pod could load MNIST/v1")
    assert scene.serves() == [failed]
    scene.player.ready_modelmesh("mnist-e2e")
    scene.reconcile()
    assert scene.serves() == [failed, (scene.ids["v1"], "RUNNING", "")]


def test_reconcile_leaves_resources_it_does_not_own_alone(
    kube: FakeKubeApi,
    registry: RegistryData,
    player: KServePlayer,
    mnist: dict[str, str],
    make_reconciler: MakeReconciler,
) -> None:
    foreign = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "mnist-e2e", "labels": {"team": "vision"}},
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "onnx"}, "storageUri": "s3://x/y"}}
        },
    }
    player.create(foreign)
    player.create(
        {
            **foreign,
            "metadata": {
                "name": "other",
                "labels": {
                    "app.kubernetes.io/managed-by": "model-controller",
                    "modelregistry.kubeflow.org/serving-environment": "another-environment",
                },
            },
        }
    )
    before = kube.objects(NAMESPACE)
    make_reconciler().reconcile_once()
    assert kube.objects(NAMESPACE) == before
    [(version, state, reason)] = registry.serves(mnist["service"])
    assert (version, state) == (mnist["v1"], "FAILED")
    assert "already exists in namespace" in reason
    assert "not managed by this controller" in reason


def test_reconcile_removes_resource_of_service_moved_to_another_runtime(scene: Scene) -> None:
    scene.reconcile()
    scene.registry.patch_service(scene.ids["service"], runtime="ovms")
    scene.reconcile()
    assert scene.kube.objects(NAMESPACE) == {}


def test_reconcile_retries_update_after_resource_version_conflict(scene: Scene) -> None:
    reconciler, version_label = scene.reconciler, "modelregistry.kubeflow.org/model-version-id"
    scene.reconcile()
    scene.registry.patch_service(scene.ids["service"], modelVersionId=scene.ids["v2"])
    seen = reconciler.target.observe()
    scene.player.patch("mnist-e2e", {"metadata": {"annotations": {"note": "edited meanwhile"}}})
    [service] = reconciler.registry.inference_services(scene.ids["environment"])
    model = resolve_model(reconciler.registry, service, frozenset({"models"}))
    outcome = reconciler.target.deploy(service, model, seen)
    assert "changed while being updated" in outcome.detail
    assert scene.resource()["metadata"]["labels"][version_label] == scene.ids["v1"]
    scene.reconcile()
    updated = scene.resource()["metadata"]
    assert updated["labels"][version_label] == scene.ids["v2"]
    assert updated["annotations"]["note"] == "edited meanwhile"


def test_reconcile_backs_off_after_the_api_server_refuses_a_resource(
    kube: FakeKubeApi,
    registry: RegistryData,
    mnist: dict[str, str],
    make_reconciler: MakeReconciler,
) -> None:
    reconciler = make_reconciler(backoff_initial=5.0)
    kube.fail_with(422, method="POST")
    reconciler.reconcile_once()
    [(version, state, reason)] = registry.serves(mnist["service"])
    assert (version, state) == (mnist["v1"], "FAILED")
    assert "refused" in reason
    assert "injected failure 422" in reason
    reconciler.reconcile_once()
    assert [r.method for r in kube.writes()] == ["POST"]
    reconciler.backoff.clock.now += 5.0  # type: ignore[attr-defined]
    reconciler.reconcile_once()
    assert [r.method for r in kube.writes()] == ["POST", "POST"]
    assert set(kube.objects(NAMESPACE)) == {"mnist-e2e"}


def test_reconcile_changes_nothing_while_the_api_server_fails(
    kube: FakeKubeApi,
    registry: RegistryData,
    mnist: dict[str, str],
    make_reconciler: MakeReconciler,
    caplog: pytest.LogCaptureFixture,
) -> None:
    reconciler = make_reconciler()
    kube.fail_with(503, times=3)
    with caplog.at_level(logging.INFO, logger="serving.controller"):
        assert [reconciler.reconcile_once() for _ in range(3)] == [False, False, False]
        assert kube.objects(NAMESPACE) == {}
        assert reconciler.reconcile_once()
    messages = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("Kubernetes API")
    ]
    assert messages == [
        "Kubernetes API: Kubernetes API 503: injected failure 503",
        "Kubernetes API: recovered",
    ]
    assert set(kube.objects(NAMESPACE)) == {"mnist-e2e"}
    assert registry.serves(mnist["service"]) == []


def test_reconcile_reports_an_unreachable_api_server(
    registry: RegistryData, mnist: dict[str, str], make_reconciler: MakeReconciler, tmp_path: Path
) -> None:
    from stack.proc import free_port

    closed = write_kubeconfig(tmp_path / "closed", f"http://127.0.0.1:{free_port()}")
    reconciler = make_reconciler(kubeconfig=str(closed))
    assert not reconciler.reconcile_once()
    assert "Kubernetes API unreachable" in reconciler.faults.current["Kubernetes API"]
    assert registry.serves(mnist["service"]) == []


def test_reconcile_serverless_mode_serves_storage_uri_at_status_url(
    kube: FakeKubeApi, registry: RegistryData, player: KServePlayer, make_reconciler: MakeReconciler
) -> None:
    environment, model = registry.environment(), registry.model()
    version = registry.version(model, "v1", storageKey=None, storagePath=None)
    service = registry.service(environment, "mnist-e2e", model, runtime="kserve-onnx")
    reconciler = make_reconciler(kserve_mode="Serverless", runtime=("kserve-onnx",))
    reconciler.reconcile_once()
    resource = kube.objects(NAMESPACE)["mnist-e2e"]
    assert resource["metadata"]["annotations"]["serving.kserve.io/deploymentMode"] == "Serverless"
    assert resource["spec"]["predictor"]["model"] == {
        "modelFormat": {"name": "onnx", "version": "1"},
        "runtime": "kserve-onnx",
        "protocolVersion": "v2",
        "storageUri": "s3://models/MNIST/v1/model.onnx",
    }
    url = f"http://mnist-e2e.{NAMESPACE}.example.com"
    player.set_status(
        "mnist-e2e", {"url": url, "conditions": [{"type": "Ready", "status": "True"}]}
    )
    reconciler.reconcile_once()
    assert registry.serves(service) == [(version, "RUNNING", "")]
    assert registry.url_of(service) == f"{url}/v2/models/mnist-e2e"
