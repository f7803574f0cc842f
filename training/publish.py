"""Publish an exported model: upload it to S3, then register it with the Model Registry.

Only S3 (boto3), the upstream `model-registry` client and an OCI registry (`OCI_REGISTRY`,
default localhost:5000 when one answers there; olot + skopeo) are used, so the same call works
against the bundled registry and against a Kubeflow Model Registry on a cluster.
Layout in the bucket: `<model>/<version>/model.onnx`, `requirements.txt`, `golden.npz`.
With `OCI_REGISTRY`, the same three files also go out as a modelcar image
`<registry>/<model>:<version>` (under `/models/`), recorded as a second ModelArtifact.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

from contracts.defaults import REGISTRY_URL
from training.deps import file_digest
from training.export import ExportedModel, ParityError, check_parity
from training.golden import read_golden
from training.lineage import Lineage
from training.model_card import refresh_model_card, version_description
from training.modelcar import (
    MODELS_DIR,
    ModelcarError,
    ModelcarImage,
    OciSettings,
    publish_modelcar,
)
from training.quality import onnx_quality
from training.storage import StorageSettings, check_bucket, upload_file
from training.turn import wait_for_turn

DEFAULT_REGISTRY_URL = REGISTRY_URL.default
DEFAULT_MODEL_NAME = "MNIST"
DEFAULT_AUTHOR = "mnist-demo"
MODEL_FORMAT_NAME = "onnx"
MODEL_FORMAT_VERSION = "1"
# What identifies the ONNX file itself goes on its ModelArtifact too (the modelcar artifact
# carries its own); dependencies, lineage and quality stay on the ModelVersion, where
# upstream's client puts `metadata`.
ARTIFACT_PROPERTIES = ("sha256", "size_bytes")
OnConflict = Literal["next", "error"]


class PublishError(Exception):
    """The model could not be published; the message says what to do."""


class RegistryUnavailableError(PublishError):
    """Nothing usable answers at MODEL_REGISTRY_URL."""


class VersionExistsError(PublishError):
    """The version name is taken and the caller asked not to pick another."""


class ArtifactChangedError(PublishError):
    """model.onnx no longer has the sha256 recorded at export."""


@dataclass(frozen=True)
class RegistrySettings:
    """Where the Model Registry is, who registers, and under which RegisteredModel name."""

    url: str = DEFAULT_REGISTRY_URL
    author: str = DEFAULT_AUTHOR
    model_name: str = DEFAULT_MODEL_NAME

    @classmethod
    def from_env(
        cls, url: str | None = None, author: str | None = None, model_name: str | None = None
    ) -> RegistrySettings:
        """Arguments (not None) > MODEL_REGISTRY_URL / MODEL_REGISTRY_AUTHOR > defaults."""
        return cls(
            url=url or os.environ.get(REGISTRY_URL.env) or DEFAULT_REGISTRY_URL,
            author=author or os.environ.get("MODEL_REGISTRY_AUTHOR") or DEFAULT_AUTHOR,
            model_name=model_name or DEFAULT_MODEL_NAME,
        )


@dataclass(frozen=True)
class PublishedModel:
    """What publishing created: names, URIs and the registry entities as the client sees them."""

    model_name: str
    version: str
    model_uri: str
    requirements_uri: str
    golden_uri: str
    registered_model: Any = None
    model_version: Any = None
    model_artifact: Any = None
    custom_properties: dict[str, Any] = field(default_factory=dict)
    modelcar: ModelcarImage | None = None
    modelcar_artifact: Any = None


def connect_registry(settings: RegistrySettings) -> Any:
    """An upstream `model_registry.ModelRegistry` client, or RegistryUnavailableError."""
    from model_registry import ModelRegistry

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="User access token is missing")
            return ModelRegistry(
                settings.url, author=settings.author, is_secure=settings.url.startswith("https")
            )
    except Exception as exc:  # aiohttp, StoreError, ApiException: all mean "not usable"
        raise RegistryUnavailableError(
            f"Cannot use the Model Registry at {settings.url} ({type(exc).__name__}: {exc}): "
            "start it (`make registry`) or set MODEL_REGISTRY_URL to a running registry."
        ) from exc


def version_exists(registry: Any, model_name: str, version: str) -> bool:
    """True when `model_name` already has a version called `version`."""
    from model_registry.exceptions import StoreError

    try:
        return registry.get_model_version(model_name, version) is not None
    except StoreError:  # the RegisteredModel itself does not exist yet
        return False


def choose_version(
    registry: Any, model_name: str, wanted: str, on_conflict: OnConflict = "next"
) -> str:
    """`wanted` if free; else the first free `wanted.1`, `wanted.2`, ... (or raise on 'error')."""
    if not version_exists(registry, model_name, wanted):
        return wanted
    if on_conflict == "error":
        raise VersionExistsError(
            f"{model_name} already has version {wanted!r}: choose another version name, "
            "or publish with on_conflict='next' to take the next free one."
        )
    revision = 1
    while version_exists(registry, model_name, f"{wanted}.{revision}"):
        revision += 1
    return f"{wanted}.{revision}"


def verify_export(exported: ExportedModel) -> None:
    """Refuse to publish a changed artifact or one that no longer reproduces its golden file."""
    digest = file_digest(exported.onnx_path)
    if digest.sha256 != exported.sha256:
        raise ArtifactChangedError(
            f"{exported.onnx_path} has sha256 {digest.sha256}, export recorded "
            f"{exported.sha256}: export the model again."
        )
    if exported.parity_max_abs_diff > exported.parity_tolerance:
        raise ParityError(
            f"export measured a max abs diff of {exported.parity_max_abs_diff:.3g} "
            f"(allowed {exported.parity_tolerance:g}); refusing to publish."
        )
    golden = read_golden(exported.golden_path)
    check_parity(exported.onnx_path, golden.x, golden.probabilities, golden.tolerance)


def upload_export(
    exported: ExportedModel, storage: StorageSettings, prefix: str, *, progress: bool | None = None
) -> dict[str, str]:
    """Upload model.onnx, requirements.txt and golden.npz under `prefix`; their s3:// URIs."""
    files = {
        "model_uri": exported.onnx_path,
        "requirements_uri": exported.requirements_path,
        "golden_uri": exported.golden_path,
    }
    return {
        name: upload_file(storage, path, f"{prefix}/{path.name}", progress=progress)
        for name, path in files.items()
    }


def version_properties(
    exported: ExportedModel, lineage: Lineage, uris: dict[str, str]
) -> dict[str, bool | int | float | str]:
    """customProperties of the ModelVersion: format, pinned deps, integrity, lineage and the
    per-digit quality on the 10k test set (training.quality)."""
    pinned = {f"{name}_version": version for name, version in exported.versions.items()}
    return {
        "onnx_opset": exported.opset,
        "onnx_ir_version": exported.ir_version,
        "onnx_producer": exported.producer,
        "signature": json.dumps(exported.signature, separators=(",", ":")),
        "requirements": exported.requirements_path.read_text(),
        **pinned,
        "sha256": exported.sha256,
        "size_bytes": exported.size,
        "parity_max_abs_diff": exported.parity_max_abs_diff,
        "parity_batch_size": exported.parity_batch_size,
        "model_kind": lineage.model_kind,
        "dataset_source": lineage.dataset_source,
        "dataset_description": lineage.dataset_description,
        "dataset_train_size": lineage.dataset_train_size,
        "dataset_test_size": lineage.dataset_test_size,
        "training_params": json.dumps(lineage.training_params, sort_keys=True),
        "training_seconds": lineage.training_seconds,
        "test_accuracy": lineage.test_accuracy,
        **onnx_quality(exported.onnx_path).properties(),
        "golden_uri": uris["golden_uri"],
        "requirements_uri": uris["requirements_uri"],
    }


def register_version(
    registry: Any,
    settings: RegistrySettings,
    storage: StorageSettings,
    version: str,
    model_uri: str,
    properties: dict[str, bool | int | float | str],
) -> None:
    """register_model(...) with the model contract's artifact fields, then the ONNX
    ModelArtifact's own customProperties (ARTIFACT_PROPERTIES)."""
    from model_registry.exceptions import StoreError
    from mr_openapi.exceptions import ApiException

    try:
        registry.register_model(
            settings.model_name,
            model_uri,
            model_format_name=MODEL_FORMAT_NAME,
            model_format_version=MODEL_FORMAT_VERSION,
            version=version,
            storage_key=storage.storage_key,
            storage_path=f"{settings.model_name}/{version}",
            version_description=version_description(properties),
            metadata=properties,
        )
        artifact = registry.get_model_artifact(settings.model_name, version)
        artifact.custom_properties = {key: properties[key] for key in ARTIFACT_PROPERTIES}
        registry.update(artifact)
    except (StoreError, ApiException) as exc:
        raise PublishError(f"The registry at {settings.url} refused {version!r}: {exc}") from exc


def push_modelcar(
    exported: ExportedModel, oci: OciSettings, model_name: str, version: str
) -> ModelcarImage:
    """Build and push the version's modelcar (model.onnx, golden.npz, requirements.txt)."""
    files = [exported.onnx_path, exported.golden_path, exported.requirements_path]
    try:
        return publish_modelcar(files, oci, model_name, version)
    except ModelcarError as exc:
        raise PublishError(str(exc)) from exc


def modelcar_properties(modelcar: ModelcarImage | None) -> dict[str, bool | int | float | str]:
    """ModelVersion customProperties naming the modelcar (none without one)."""
    if modelcar is None:
        return {}
    return {"modelcar_uri": modelcar.uri, "modelcar_digest": modelcar.digest,
            "modelcar_size_bytes": modelcar.size_bytes}  # fmt: skip


def register_modelcar(
    registry: Any, settings: RegistrySettings, version: str, modelcar: ModelcarImage,
    exported: ExportedModel,
) -> Any:  # fmt: skip
    """Add the modelcar as a second ModelArtifact (`<model>-modelcar`, uri oci://...).

    model-registry 0.3.18's `ModelRegistry` has no public call for this: `register_model`
    makes model, version and artifact together and `update` needs an existing id. So this
    calls the private `_register_model_artifact` that `register_model` uses (POST
    /model_versions/{id}/artifacts); tests/training/test_publish_modelcar.py fails if it changes.
    """
    model_version = registry.get_model_version(settings.model_name, version)
    properties = {"sha256": exported.sha256, "modelcar_digest": modelcar.digest,
                  "modelcar_size_bytes": modelcar.size_bytes,
                  "model_path": f"{MODELS_DIR}/{exported.onnx_path.name}"}  # fmt: skip
    return registry.async_runner(registry._register_model_artifact(
        model_version, f"{settings.model_name}-modelcar", modelcar.uri,
        model_format_name=MODEL_FORMAT_NAME, model_format_version=MODEL_FORMAT_VERSION,
        custom_properties=properties,
    ))  # fmt: skip


def publish_model(
    exported: ExportedModel,
    lineage: Lineage,
    *,
    version: str,
    registry_settings: RegistrySettings | None = None,
    storage_settings: StorageSettings | None = None,
    oci_settings: OciSettings | None = None,
    on_conflict: OnConflict = "next",
    progress: bool | None = None,
) -> PublishedModel:
    """Verify the export, push its modelcar (when OCI_REGISTRY or `oci_settings` names a
    registry; first, so a registry that refuses leaves nothing stored), upload it to
    s3://<bucket>/<model>/<version>/, register it and rewrite the model card's generated block."""
    settings = registry_settings or RegistrySettings.from_env()
    storage = storage_settings or StorageSettings.from_env()
    oci = oci_settings or OciSettings.from_env()
    verify_export(exported)
    registry = connect_registry(settings)
    wait_for_turn(registry, settings.model_name)  # PUBLISH_AFTER, for concurrent trainings
    version = choose_version(registry, settings.model_name, version, on_conflict)
    check_bucket(storage)
    modelcar = push_modelcar(exported, oci, settings.model_name, version) if oci else None
    uris = upload_export(exported, storage, f"{settings.model_name}/{version}", progress=progress)
    properties = {**version_properties(exported, lineage, uris), **modelcar_properties(modelcar)}
    register_version(registry, settings, storage, version, uris["model_uri"], properties)
    car = register_modelcar(registry, settings, version, modelcar, exported) if modelcar else None
    refresh_model_card(settings.url, settings.model_name)
    return PublishedModel(
        model_name=settings.model_name,
        version=version,
        model_uri=uris["model_uri"],
        requirements_uri=uris["requirements_uri"],
        golden_uri=uris["golden_uri"],
        registered_model=registry.get_registered_model(settings.model_name),
        model_version=registry.get_model_version(settings.model_name, version),
        model_artifact=registry.get_model_artifact(settings.model_name, version),
        custom_properties=properties,
        modelcar=modelcar,
        modelcar_artifact=car,
    )
