"""A version's life on the Registry page: archive, restore, and deploy only what can be served.

As upstream's UI does, archiving sets the ModelVersion's `state` to ARCHIVED and restoring
sets it back to LIVE; a version some InferenceService wants DEPLOYED cannot be archived
(undeploy it first). The page refuses to deploy an ARCHIVED version, or one whose artifact
bytes the clean-up (`python -m training.cleanup`) deleted; it reads the version afresh
before deploying, so a version archived elsewhere a moment ago is refused too.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from app.compare import bytes_deleted_at
from app.deployments import Deployment, services_deploying
from app.errors import AppError
from app.registry_client import RegistryClient
from mr_client import ModelArtifact, ModelVersion

LIVE, ARCHIVED = "LIVE", "ARCHIVED"


class VersionArchived(AppError):
    """Deploying an ARCHIVED version was asked for."""

    status = 409

    def __init__(self, label: str) -> None:
        super().__init__(
            f"{label} is archived and cannot be deployed; restore it first "
            "(show archived versions, then Restore)."
        )


class ArtifactsDeleted(AppError):
    """Deploying a version whose artifact bytes were deleted was asked for."""

    status = 409

    def __init__(self, label: str, when: str) -> None:
        super().__init__(
            f"The artifacts of {label} were deleted at {when} by the artifact clean-up, so it "
            "cannot be deployed; publish the model again for a new version."
        )


class VersionInUse(AppError):
    """Archiving a version that an InferenceService wants DEPLOYED was asked for."""

    status = 409

    def __init__(self, label: str, services: Sequence[str]) -> None:
        super().__init__(
            f"{label} is deployed as {', '.join(services)}; undeploy it before archiving it."
        )


def is_archived(version: ModelVersion) -> bool:
    return version.state == ARCHIVED


def label(version: ModelVersion, model_name: str) -> str:
    return f"{model_name} {version.name}"


def visible_versions(versions: Iterable[ModelVersion], show_archived: bool) -> list[ModelVersion]:
    """The versions the page lists: LIVE ones, and the ARCHIVED ones too when asked."""
    return [v for v in versions if show_archived or not is_archived(v)]


def deleted_at(artifacts: Iterable[ModelArtifact]) -> str | None:
    """When the clean-up deleted the version's artifact bytes (the first such artifact)."""
    return next((when for a in artifacts if (when := bytes_deleted_at(a))), None)


def set_state(registry: RegistryClient, version: ModelVersion, model_name: str, state: str) -> str:
    registry.update_model_version(version.id, {"state": state})
    return f"{label(version, model_name)} is now {state}."


def archive_version(
    registry: RegistryClient,
    version: ModelVersion,
    model_name: str,
    deployments: list[Deployment],
) -> str:
    """ARCHIVED, unless an InferenceService wants it DEPLOYED (VersionInUse)."""
    in_use = services_deploying(deployments, version.id)
    if in_use:
        raise VersionInUse(label(version, model_name), in_use)
    return set_state(registry, version, model_name, ARCHIVED)


def restore_version(registry: RegistryClient, version: ModelVersion, model_name: str) -> str:
    return set_state(registry, version, model_name, LIVE)


def servable(registry: RegistryClient, version: ModelVersion, model_name: str) -> ModelVersion:
    """`version` read afresh, to deploy: refused when ARCHIVED or its bytes were cleaned up."""
    current = registry.model_version(version.id)
    if is_archived(current):
        raise VersionArchived(label(current, model_name))
    when = deleted_at(registry.artifacts(current.id))
    if when:
        raise ArtifactsDeleted(label(current, model_name), when)
    return current
