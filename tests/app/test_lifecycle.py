"""Archive, restore and deploy-only-what-can-be-served, against a real registry_local."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.deployments import Deployment, deploy_version, list_deployments
from app.lifecycle import (
    ArtifactsDeleted,
    VersionArchived,
    VersionInUse,
    archive_version,
    deleted_at,
    restore_version,
    servable,
    visible_versions,
)
from app.registry_client import RegistryClient
from mr_client import ModelArtifact, ModelVersion
from mr_client.urls import API


def test_visible_versions_hide_archived_unless_asked() -> None:
    wire = [{"id": "3", "state": "ARCHIVED"}, {"id": "4", "state": "LIVE"}, {"id": "5"}]
    versions = [ModelVersion.from_wire(v) for v in wire]
    assert [v.id for v in visible_versions(versions, False)] == ["4", "5"]
    assert [v.id for v in visible_versions(versions, True)] == ["3", "4", "5"]


def test_deleted_at_reads_the_clean_up_mark_and_ignores_malformed_ones() -> None:
    mark = {"bytes_deleted_at": {"metadataType": "MetadataStringValue",
                                 "string_value": "2026-12-06T12:00:00Z"}}  # fmt: skip
    broken = {"bytes_deleted_at": {"metadataType": "MetadataIntValue", "int_value": "x"}}

    def artifacts(*custom: object) -> list[ModelArtifact]:
        return [ModelArtifact.from_wire({"id": "1", "customProperties": c}) for c in custom]

    assert deleted_at(artifacts({}, mark)) == mark["bytes_deleted_at"]["string_value"]
    assert deleted_at(artifacts(broken, "nonsense")) is None


def deploy(client: RegistryClient, version: ModelVersion) -> str:
    """What the page's Deploy button does."""
    return deploy_version(client, "local", "mmserver1", servable(client, version, "MNIST"), "MNIST")


@pytest.fixture
def registry(registry_server: Any) -> Any:
    """A registry with MNIST v1 (one S3 artifact) and serving environment `local`."""
    with httpx.Client(base_url=registry_server.url + API, timeout=10) as http:
        model = http.post("/registered_models", json={"name": "MNIST"}).json()
        body = {"name": "v1", "registeredModelId": model["id"]}
        version = http.post(f"/registered_models/{model['id']}/versions", json=body).json()
        artifact = {"artifactType": "model-artifact", "name": "MNIST", "uri": "s3://models/m"}
        http.post(f"/model_versions/{version['id']}/artifacts", json=artifact).raise_for_status()
        http.post("/serving_environments", json={"name": "local"}).raise_for_status()
    with RegistryClient(registry_server.url) as client:
        yield client, ModelVersion.from_wire(version)


@pytest.mark.server
def test_archive_hides_then_restore_brings_back(registry: Any) -> None:
    client, version = registry
    assert archive_version(client, version, "MNIST", []) == "MNIST v1 is now ARCHIVED."
    assert client.model_version(version.id).state == "ARCHIVED"
    assert restore_version(client, version, "MNIST") == "MNIST v1 is now LIVE."
    assert client.model_version(version.id).state == "LIVE"


@pytest.mark.server
def test_archiving_a_deployed_version_is_refused(registry: Any) -> None:
    client, version = registry
    deploy(client, version)
    deployments: list[Deployment] = list_deployments(client, "local")
    with pytest.raises(VersionInUse, match="deployed as mnist-v1; undeploy it before"):
        archive_version(client, version, "MNIST", deployments)
    assert client.model_version(version.id).state == "LIVE"


@pytest.mark.server
def test_deploying_a_version_archived_meanwhile_is_refused(registry: Any) -> None:
    client, version = registry  # the page still holds it as LIVE
    client.update_model_version(version.id, {"state": "ARCHIVED"})
    with pytest.raises(VersionArchived, match="MNIST v1 is archived and cannot be deployed"):
        deploy(client, version)
    assert list_deployments(client, "local") == []


@pytest.mark.server
def test_deploying_a_version_whose_bytes_were_deleted_is_refused(
    registry: Any, registry_server: Any
) -> None:
    client, version = registry
    artifact = client.artifacts(version.id)[0]
    mark = {"bytes_deleted_at": {"metadataType": "MetadataStringValue", "string_value": "then"}}
    httpx.patch(f"{registry_server.url}{API}/model_artifacts/{artifact.id}",
                json={"customProperties": mark}).raise_for_status()  # fmt: skip
    with pytest.raises(ArtifactsDeleted, match="were deleted at then by the artifact clean-up"):
        deploy(client, version)
