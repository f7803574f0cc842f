"""The typed client against a real registry_local: reads, paging, and what 404 means."""

from __future__ import annotations

import pytest

from mr_client import ModelVersion, NotFound, RegistryClient
from tests.mr_client.conftest import Seeder


def test_registered_model_read_by_id_and_name(registry: RegistryClient, seed: Seeder) -> None:
    model = seed.model(readme="# MNIST")
    by_id = registry.registered_model(model["id"])
    assert (by_id.id, by_id.name, by_id.readme) == (model["id"], "MNIST", "# MNIST")
    assert registry.find_registered_model("MNIST") == by_id


def test_find_registered_model_missing_is_none(registry: RegistryClient) -> None:
    assert registry.find_registered_model("nope") is None


def test_registered_model_missing_raises_not_found(registry: RegistryClient) -> None:
    with pytest.raises(NotFound, match=r"read registered model 999 \(HTTP 404: ") as caught:
        registry.registered_model("999")
    assert caught.value.status == 404


def test_model_versions_follow_every_page(registry: RegistryClient, seed: Seeder) -> None:
    model = seed.model()
    created = [seed.version(model, f"v{n}") for n in range(1, 6)]
    registry.transport.page_size = "2"
    versions = registry.model_versions(model["id"])
    assert [v.id for v in versions] == [v["id"] for v in created]
    assert all(isinstance(v, ModelVersion) for v in versions)


def test_latest_live_version_skips_archived(registry: RegistryClient, seed: Seeder) -> None:
    model = seed.model()
    live = seed.version(model, "v1")
    seed.version(model, "v2", state="ARCHIVED")
    latest = registry.latest_live_version(model["id"])
    assert latest is not None
    assert (latest.id, latest.state, latest.registered_model_id) == (live["id"], "LIVE",
                                                                     model["id"])  # fmt: skip


def test_latest_live_version_none_without_live(registry: RegistryClient, seed: Seeder) -> None:
    model = seed.model()
    seed.version(model, "v1", state="ARCHIVED")
    assert registry.latest_live_version(model["id"]) is None


def test_newest_model_artifact_and_its_fields(registry: RegistryClient, seed: Seeder) -> None:
    version = seed.version(seed.model(), "v1")
    seed.artifact(version, "old")
    seed.artifact(version, "new", modelFormatName="onnx", modelFormatVersion="1",
                  storageKey="aws-connection-models", storagePath="MNIST/v1",
                  customProperties={"sha256": {"metadataType": "MetadataStringValue",
                                               "string_value": "ab" * 32}})  # fmt: skip
    newest = registry.newest_model_artifact(version["id"])
    assert newest is not None
    assert (newest.name, newest.uri, newest.model_format_name, newest.storage_path) == (
        "new", "s3://models/new", "onnx", "MNIST/v1")  # fmt: skip
    assert newest.property_text("sha256") == "ab" * 32
    assert [a.name for a in registry.artifacts(version["id"])] == ["old", "new"]


def test_newest_model_artifact_none_without_one(registry: RegistryClient, seed: Seeder) -> None:
    version = seed.version(seed.model(), "v1")
    assert registry.newest_model_artifact(version["id"]) is None


def test_model_version_missing_raises_not_found(registry: RegistryClient) -> None:
    with pytest.raises(NotFound, match="read model version 12345"):
        registry.model_version("12345")
