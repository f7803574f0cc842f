"""Delete the stored bytes of ARCHIVED model versions that no InferenceService uses.

    python -m training.cleanup            # dry run: say what would be deleted
    python -m training.cleanup --yes      # delete it

For each such version's artifacts: an `s3://` model artifact loses its S3 objects (model.onnx
and the version's golden_uri and requirements_uri), an `oci://` modelcar artifact its
manifest in the OCI registry (by digest, which removes its tag; the layers go at the
registry's next `garbage-collect`). Only once every deletion of an artifact succeeded is it
marked, in its customProperties, `bytes_deleted` (true) and `bytes_deleted_at` (UTC, ISO
8601); a failure (S3 or the OCI registry down) leaves it unmarked, to be retried by the
next run. Marked artifacts are skipped, objects already gone count as deleted, so running it
again is safe. LIVE versions, and versions any InferenceService (of any serving
environment, in any desired state) names, are never touched; each version is read again
right before its deletion in case it was restored or deployed meanwhile.
Settings: MODEL_REGISTRY_URL and the AWS_* variables, as for publishing (training/README.md).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from contracts.defaults import REGISTRY_URL
from contracts.oci import registry_scheme
from contracts.s3 import s3_client
from mr_client import ModelArtifact, ModelVersion, RegistryClient, RegistryError
from training.storage import StorageError, StorageSettings, split_s3_uri
from training.storage import translated_errors as s3_errors

DEFAULT_REGISTRY_URL = REGISTRY_URL.default
ARCHIVED = "ARCHIVED"
DELETED_AT = "bytes_deleted_at"
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json, "
                  "application/vnd.docker.distribution.manifest.v2+json")  # fmt: skip


class CleanupError(Exception):
    """An artifact's bytes could not (all) be deleted; it stays unmarked."""


@dataclass(frozen=True)
class Deletion:
    """One artifact of an ARCHIVED, unused version, and what deleting its bytes means."""

    model: str
    version: ModelVersion
    artifact: ModelArtifact
    targets: tuple[str, ...]
    """s3:// object URIs, or the one oci:// reference, to delete."""

    @property
    def label(self) -> str:
        return f"{self.model} {self.version.name} artifact {self.artifact.name}"


def used_versions(registry: RegistryClient) -> set[str]:
    """Ids of the versions some InferenceService names (any environment, any state)."""
    services = registry.all_inference_services()
    return {s.model_version_id for s in services if s.model_version_id}


def plan(registry: RegistryClient) -> tuple[list[Deletion], list[str]]:
    """What to delete, and a sentence for each ARCHIVED version kept because it is used."""
    used, deletions, kept = used_versions(registry), [], []
    for model in registry.registered_models():
        for version in registry.model_versions(model.id):
            if version.state != ARCHIVED:
                continue
            if version.id in used:
                kept.append(f"kept {model.name} {version.name}: an InferenceService names it")
                continue
            for artifact in registry.artifacts(version.id):
                if not artifact.property_text(DELETED_AT):
                    deletions.append(Deletion(model.name, version, artifact,
                                              targets(artifact, version)))  # fmt: skip
    return deletions, kept


def targets(artifact: ModelArtifact, version: ModelVersion) -> tuple[str, ...]:
    """The URIs whose bytes belong to this artifact."""
    uri = artifact.uri
    if uri.startswith("oci://"):
        digest = artifact.property_text("modelcar_digest")
        return (f"{uri}@{digest}" if digest and "@" not in uri else uri,)
    if not uri.startswith("s3://"):
        return ()
    props = version.properties
    extra = [str(props[n]) for n in ("golden_uri", "requirements_uri") if props.get(n)]
    return tuple(dict.fromkeys([uri, *[e for e in extra if e.startswith("s3://")]]))


def delete_s3(storage: StorageSettings, uri: str) -> None:
    """Delete one object (an object already gone is fine: S3 answers 204 all the same)."""
    bucket, key = split_s3_uri(uri)
    with s3_errors(storage, key):
        s3_client(storage).delete_object(Bucket=bucket, Key=key)


def oci_parts(reference: str) -> tuple[str, str, str | None, str | None]:
    """'oci://host:port/repo:tag@sha256:..' → (host:port, repo, tag, digest)."""
    rest = reference.removeprefix("oci://")
    rest, _, digest = rest.partition("@")
    host, _, path = rest.partition("/")
    repository, tag = path, None
    if ":" in path.rsplit("/", 1)[-1]:
        repository, _, tag = path.rpartition(":")
    return host, repository, tag, digest or None


def delete_oci(reference: str, timeout: float = 10.0) -> None:
    """DELETE the manifest by digest (the tag resolved first when no digest was recorded)."""
    host, repository, tag, digest = oci_parts(reference)
    base = f"{registry_scheme(host)}://{host}/v2/{repository}/manifests"
    try:
        with httpx.Client(timeout=timeout, headers={"Accept": MANIFEST_TYPES}) as http:
            if digest is None:
                found = http.head(f"{base}/{tag}")
                if found.status_code == 404:
                    return  # the tag is gone already
                digest = found.raise_for_status().headers["Docker-Content-Digest"]
            answer = http.delete(f"{base}/{digest}")
    except (httpx.HTTPError, KeyError) as exc:
        raise CleanupError(f"the OCI registry {host} did not answer ({exc!r})") from exc
    if answer.status_code == 405:
        raise CleanupError(
            f"the OCI registry {host} does not allow deletes: set "
            "REGISTRY_STORAGE_DELETE_ENABLED=true (storage.delete.enabled)"
        )
    if answer.status_code not in (200, 202, 404):
        raise CleanupError(f"the OCI registry {host} answered HTTP {answer.status_code}")


def delete_bytes(deletion: Deletion, storage: StorageSettings) -> None:
    for uri in deletion.targets:
        if uri.startswith("oci://"):
            delete_oci(uri)
        else:
            delete_s3(storage, uri)


def still_deletable(registry: RegistryClient, deletion: Deletion) -> bool:
    """The version is still ARCHIVED and unused (read again now)."""
    version = registry.model_version(deletion.version.id)
    return version.state == ARCHIVED and version.id not in used_versions(registry)


def execute(registry: RegistryClient, deletion: Deletion, storage: StorageSettings) -> str:
    """Delete one artifact's bytes, then mark it; a sentence saying what happened."""
    if not still_deletable(registry, deletion):
        return f"skipped {deletion.label}: restored or deployed meanwhile"
    try:
        delete_bytes(deletion, storage)
    except (CleanupError, StorageError) as exc:
        raise CleanupError(f"FAILED {deletion.label}, not marked deleted: {exc}") from exc
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    registry.update_artifact_properties(deletion.artifact, bytes_deleted=True, **{DELETED_AT: when})
    return f"deleted {deletion.label}: {', '.join(deletion.targets)} (marked at {when})"


def run(registry: RegistryClient, storage: StorageSettings, act: bool) -> tuple[list[str], int]:
    """(lines to print, number of failures)."""
    deletions, lines = plan(registry)
    failures = 0
    for deletion in deletions:
        if not act:
            lines.append(f"would delete {deletion.label}: {', '.join(deletion.targets) or '-'}")
            continue
        try:
            lines.append(execute(registry, deletion, storage))
        except CleanupError as exc:
            lines.append(str(exc))
            failures += 1
    if not deletions:
        lines.append("nothing to delete: no ARCHIVED, unused version with stored bytes")
    elif not act:
        lines.append("dry run: nothing deleted; run again with --yes to delete")
    return lines, failures


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.cleanup",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--yes", action="store_true", help="delete (default: dry run)")
    parser.add_argument("--registry-url", help="model registry [env MODEL_REGISTRY_URL]")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    url = args.registry_url or os.environ.get(REGISTRY_URL.env) or DEFAULT_REGISTRY_URL
    try:
        with RegistryClient(url) as registry:
            lines, failures = run(registry, StorageSettings.from_env(), args.yes)
    except RegistryError as exc:
        print(f"The model registry at {url} could not be read or written ({exc}); start it "
              "(`make registry`) or set MODEL_REGISTRY_URL.", file=sys.stderr)  # fmt: skip
        return 2
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
