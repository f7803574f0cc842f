"""What an InferenceService should serve: its ModelVersion and that version's ModelArtifact.

Target-neutral: the local target loads `uri` (checked with `sha256`/`golden_uri`, and for
an `oci://` modelcar with its recorded manifest `digest`) into the inference server; the
KServe target puts the format and the storage key/path, or the digest-pinned `oci://` image,
into a resource. The version's newest ModelArtifact is served: publishing adds the modelcar
after the S3 artifact, so a version with a modelcar is served from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mr_client import ModelArtifact, ModelVersion
from serving.artifacts import ReferenceRefused, S3Location
from serving.controller.registry import InferenceService, RegistryClient, RegistryNotFound
from serving.oci import OciLocation, pinned_digest, pinned_uri

SERVED_FORMATS = {"onnx"}
ARCHIVED = "ARCHIVED"
BYTES_DELETED_AT = "bytes_deleted_at"
"""Set on an artifact by `python -m training.cleanup` once its bytes are deleted."""


class ResolveFailed(Exception):
    """No loadable artifact for a service; `version_id` is set when the version is known."""

    def __init__(self, reason: str, version_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.version_id = version_id


@dataclass(frozen=True)
class ResolvedModel:
    """The version to serve, where its artifact is and how to check it."""

    version_id: str
    version_name: str
    registered_model_name: str
    uri: str
    sha256: str | None = None
    golden_uri: str | None = None
    model_format: str = "onnx"
    model_format_version: str | None = None
    storage_key: str | None = None
    storage_path: str | None = None
    digest: str | None = None

    @property
    def storage_uri(self) -> str:
        """Where KServe finds the model: a modelcar pinned to its digest, else `uri`."""
        if self.uri.startswith("oci://") and self.digest:
            return pinned_uri(self.uri, self.digest)
        return self.uri

    def load_parameters(self, owner: str) -> dict[str, str]:
        """The inference server's load `parameters` (see serving/README.md)."""
        parameters = {"uri": self.uri, "version": self.version_id, "owner": owner,
                      "model_version_name": self.version_name,
                      "registered_model": self.registered_model_name}  # fmt: skip
        if self.sha256:
            parameters["sha256"] = self.sha256
        if self.golden_uri:
            parameters["golden_uri"] = self.golden_uri
        if self.digest:
            parameters["digest"] = self.digest
        return parameters


def resolve_model(
    registry: RegistryClient,
    service: InferenceService,
    allowed_buckets: frozenset[str],
    allowed_oci_registries: frozenset[str] = frozenset(),
) -> ResolvedModel:
    """The service's version (`modelVersionId`, else the latest) and its checked artifact."""
    version = service_version(registry, service)
    version_id = version.id
    artifact = registry.newest_model_artifact(version_id)
    if artifact is None:
        raise ResolveFailed(f"model version {version_id} has no model artifact", version_id)
    check_format(artifact, version_id)
    check_servable(version, artifact)
    uri = artifact.uri
    modelcar = uri.startswith("oci://")
    golden_uri = None if modelcar else custom_text(artifact, version, "golden_uri")
    digest = custom_text(artifact, version, "modelcar_digest") if modelcar else None
    try:
        if modelcar:
            digest = pinned_digest(OciLocation.parse(uri, allowed_oci_registries), digest)
        else:
            S3Location.parse(artifact.uri or None, allowed_buckets)
        if golden_uri is not None:
            S3Location.parse(golden_uri, allowed_buckets)
    except ReferenceRefused as exc:
        raise ResolveFailed(str(exc), version_id) from None
    return ResolvedModel(
        version_id=version_id,
        version_name=version.name or version_id,
        registered_model_name=registry.registered_model_name(service.registered_model_id),
        uri=uri,
        sha256=custom_text(artifact, version, "sha256"),
        golden_uri=golden_uri,
        model_format=(artifact.model_format_name or "onnx").lower(),
        model_format_version=artifact.model_format_version,
        storage_key=artifact.storage_key,
        storage_path=artifact.storage_path,
        digest=digest,
    )


def service_version(registry: RegistryClient, service: InferenceService) -> ModelVersion:
    if service.model_version_id is None:
        latest = registry.latest_live_version(service.registered_model_id)
        if latest is None:
            raise ResolveFailed(f"registered model {service.registered_model_id} has no versions")
        return latest
    try:
        version = registry.model_version(service.model_version_id)
    except RegistryNotFound:
        raise ResolveFailed(f"model version {service.model_version_id} not found") from None
    owner = version.registered_model_id
    if owner and owner != service.registered_model_id:
        raise ResolveFailed(
            f"model version {service.model_version_id} belongs to registered model {owner}, "
            f"not {service.registered_model_id}",
            version.id,
        )
    return version


def check_servable(version: ModelVersion, artifact: ModelArtifact) -> None:
    """Refuse an ARCHIVED version, and one whose artifact bytes the clean-up deleted."""
    version_id = version.id
    named = f"model version {version_id} ({version.name or 'no name'})"
    if version.state == ARCHIVED:
        raise ResolveFailed(
            f"{named} is ARCHIVED: restore it (state LIVE) before deploying it", version_id
        )
    deleted = artifact.property_text(BYTES_DELETED_AT)
    if deleted:
        raise ResolveFailed(
            f"the artifact bytes of {named} were deleted at {deleted} by the artifact "
            "clean-up: publish the model again",
            version_id,
        )


def check_format(artifact: ModelArtifact, version_id: str) -> None:
    model_format = artifact.model_format_name
    if model_format and model_format.lower() not in SERVED_FORMATS:
        raise ResolveFailed(f"model format {model_format!r} is not served (only ONNX)", version_id)


def custom_text(artifact: ModelArtifact, version: ModelVersion, name: str) -> str | None:
    """A customProperty of the artifact, else of the version, as text."""
    return artifact.property_text(name) or version.property_text(name)
