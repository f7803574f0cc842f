"""The app's registry client and deployment discovery against a real registry_local server.

The entities are written over REST the way the other parts write them: training registers
models, the controller creates the serving environment, ServeModel records and the `url`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from app.deployments import deploy_version, deployed, list_deployments, set_desired_state
from app.errors import (
    NothingDeployed,
    RegistryRequestFailed,
    RegistryUnavailable,
    ServingEnvironmentMissing,
)
from app.registry_client import RegistryClient
from mr_client import ModelVersion
from mr_client.urls import API
from stack.proc import free_port

pytestmark = pytest.mark.server
ENDPOINT = "http://127.0.0.1:8008/v2/models/mnist-v2"


@pytest.fixture
def registry(registry_server: Any) -> Iterator[RegistryClient]:
    with RegistryClient(registry_server.url, timeout=5) as client:
        yield client


@pytest.fixture
def rest(registry_server: Any) -> Iterator[httpx.Client]:
    """Plain REST access to the same registry, to write what the other parts would."""
    with httpx.Client(base_url=f"{registry_server.url}{API}", timeout=5) as client:
        yield client


def created(rest: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = rest.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def mnist(rest: httpx.Client) -> dict[str, dict[str, Any]]:
    """MNIST v1 and v2 with an ONNX artifact each, and the `local` serving environment."""
    model = created(rest, "/registered_models", {"name": "MNIST"})
    entities = {"model": model, "environment": created(rest, "/serving_environments",
                                                       {"name": "local"})}  # fmt: skip
    for name in ("v1", "v2"):
        version = created(rest, "/model_versions", {"name": name, "registeredModelId": model["id"]})
        created(rest, f"/model_versions/{version['id']}/artifacts", {
            "artifactType": "model-artifact", "name": f"MNIST-{name}",
            "uri": f"s3://models/MNIST/{name}/model.onnx", "modelFormatName": "onnx",
            "modelFormatVersion": "1",
            "customProperties": {"sha256": {"metadataType": "MetadataStringValue",
                                            "string_value": "ab" * 32}},
        })  # fmt: skip
        entities[name] = version
    return entities


def version(mnist: dict[str, dict[str, Any]], name: str) -> ModelVersion:
    return ModelVersion.from_wire(mnist[name])


def report_running(rest: httpx.Client, service_id: str, version_id: str) -> None:
    """What the controller writes once it serves a version: a ServeModel and the `url`."""
    created(rest, f"/inference_services/{service_id}/serves",
            {"modelVersionId": version_id, "lastKnownState": "RUNNING"})  # fmt: skip
    url = {"url": {"metadataType": "MetadataStringValue", "string_value": ENDPOINT}}
    assert rest.patch(
        f"/inference_services/{service_id}", json={"customProperties": url}
    ).is_success


def test_registry_client_lists_models_versions_and_artifacts(
    registry: RegistryClient, mnist: dict[str, dict[str, Any]]
) -> None:
    assert [m.name for m in registry.registered_models()] == ["MNIST"]
    versions = registry.model_versions(mnist["model"]["id"])
    assert [v.name for v in versions] == ["v1", "v2"]
    (artifact,) = registry.artifacts(versions[1].id)
    assert artifact.uri == "s3://models/MNIST/v2/model.onnx"


def test_deploy_version_posts_inference_service_like_the_seed(
    registry: RegistryClient, rest: httpx.Client, mnist: dict[str, dict[str, Any]]
) -> None:
    message = deploy_version(registry, "local", "mmserver1", version(mnist, "v2"), "MNIST")
    assert message == "Created InferenceService mnist-v2, desired DEPLOYED."
    (service,) = rest.get("/inference_services").json()["items"]
    assert service["name"] == "mnist-v2"
    assert service["desiredState"] == "DEPLOYED"
    assert service["runtime"] == "mmserver1"
    assert service["modelVersionId"] == mnist["v2"]["id"]


def test_deploy_version_patches_existing_inference_service(
    registry: RegistryClient, rest: httpx.Client, mnist: dict[str, dict[str, Any]]
) -> None:
    deploy_version(registry, "local", "mmserver1", version(mnist, "v2"), "MNIST")
    (deployment,) = list_deployments(registry, "local")
    set_desired_state(registry, deployment, "UNDEPLOYED")
    message = deploy_version(registry, "local", "mmserver1", version(mnist, "v2"), "MNIST")
    assert message == "InferenceService mnist-v2 is now desired DEPLOYED."
    assert [s["desiredState"] for s in rest.get("/inference_services").json()["items"]] == [
        "DEPLOYED"
    ]


def test_list_deployments_joins_version_observed_state_and_url(
    registry: RegistryClient, rest: httpx.Client, mnist: dict[str, dict[str, Any]]
) -> None:
    deploy_version(registry, "local", "mmserver1", version(mnist, "v2"), "MNIST")
    (waiting,) = list_deployments(registry, "local")
    assert (waiting.status, waiting.endpoint, waiting.observed_state) == ("deploying", None, None)
    report_running(rest, waiting.service_id, mnist["v2"]["id"])
    (serving,) = deployed(registry, "local")
    assert serving.label == "MNIST v2 · mnist-v2"
    assert serving.status == "serving"
    assert serving.infer_url == f"{ENDPOINT}/infer"


def test_set_desired_state_undeploys_through_seed_api(
    registry: RegistryClient, registry_server: Any, mnist: dict[str, dict[str, Any]]
) -> None:
    deploy_version(registry, "local", "mmserver1", version(mnist, "v1"), "MNIST")
    (deployment,) = list_deployments(registry, "local")
    set_desired_state(registry, deployment, "UNDEPLOYED")
    seed_view = httpx.get(f"{registry_server.url}/api/model_registry/v1alpha1/inference_services/"
                          f"{deployment.service_id}").json()  # fmt: skip
    assert seed_view["state"] == "UNDEPLOYED"
    with pytest.raises(NothingDeployed, match="deploy a version on the Registry page"):
        deployed(registry, "local")


def test_deployed_raises_when_environment_missing(registry: RegistryClient) -> None:
    with pytest.raises(ServingEnvironmentMissing, match="`make controller`"):
        deployed(registry, "local")


def test_deployed_raises_when_nothing_deployed(
    registry: RegistryClient, mnist: dict[str, dict[str, Any]]
) -> None:
    with pytest.raises(NothingDeployed, match="No model is deployed in serving environment"):
        deployed(registry, "local")


def test_registry_client_reports_refused_request(registry: RegistryClient) -> None:
    with pytest.raises(RegistryRequestFailed, match="read model version 999") as raised:
        registry.model_version("999")
    assert raised.value.status == 404


def test_registry_client_reports_registry_down() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with (
        RegistryClient(url, timeout=2) as registry,
        pytest.raises(RegistryUnavailable, match=f"registry at {url} is not answering"),
    ):
        registry.registered_models()
