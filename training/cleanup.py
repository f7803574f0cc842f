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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from training.model_card import API, ModelCardError, json_answer, plain_properties
from training.modelcar import is_loopback
from training.storage import StorageError, StorageSettings, s3_client, split_s3_uri
from training.storage import translated_errors as s3_errors

DEFAULT_REGISTRY_URL = "http://localhost:8080"
ARCHIVED = "ARCHIVED"
DELETED_AT = "bytes_deleted_at"
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json, "
                  "application/vnd.docker.distribution.manifest.v2+json")  # fmt: skip
Resource = dict[str, Any]


class CleanupError(Exception):
    """An artifact's bytes could not (all) be deleted; it stays unmarked."""


@dataclass(frozen=True)
class Deletion:
    """One artifact of an ARCHIVED, unused version, and what deleting its bytes means."""

    model: str
    version: Resource
    artifact: Resource
    targets: tuple[str, ...]
    """s3:// object URIs, or the one oci:// reference, to delete."""

    @property
    def label(self) -> str:
        return f"{self.model} {self.version.get('name')} artifact {self.artifact.get('name')}"


class Registry:
    """The few registry reads and the one write the clean-up needs (REST, v1alpha3)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.http = httpx.Client(base_url=url.rstrip("/") + API, timeout=timeout)

    def items(self, path: str) -> Iterator[Resource]:
        params = {"pageSize": "100", "orderBy": "ID", "sortOrder": "ASC"}
        while True:
            page = json_answer(self.http.get(path, params=params))
            yield from page.get("items") or []
            if not page.get("nextPageToken"):
                return
            params["nextPageToken"] = page["nextPageToken"]

    def version(self, version_id: str) -> Resource:
        return json_answer(self.http.get(f"/model_versions/{version_id}"))

    def used_versions(self) -> set[str]:
        """Ids of the versions some InferenceService names (any environment, any state)."""
        environments = [str(e["id"]) for e in self.items("/serving_environments")]
        services = [service for environment in environments
                    for service in self.items(f"/serving_environments/{environment}"
                                              "/inference_services")]  # fmt: skip
        return {str(s["modelVersionId"]) for s in services if s.get("modelVersionId")}

    def mark_deleted(self, artifact: Resource, when: str) -> None:
        custom = dict(artifact.get("customProperties") or {})
        custom["bytes_deleted"] = {"metadataType": "MetadataBoolValue", "bool_value": True}
        custom[DELETED_AT] = {"metadataType": "MetadataStringValue", "string_value": when}
        path = f"/artifacts/{artifact['id']}"
        body = {"artifactType": artifact.get("artifactType", "model-artifact"),
                "customProperties": custom}  # fmt: skip
        json_answer(self.http.patch(path, json=body))


def plan(registry: Registry) -> tuple[list[Deletion], list[str]]:
    """What to delete, and a sentence for each ARCHIVED version kept because it is used."""
    used, deletions, kept = registry.used_versions(), [], []
    for model in registry.items("/registered_models"):
        for version in registry.items(f"/registered_models/{model['id']}/versions"):
            if version.get("state") != ARCHIVED:
                continue
            if str(version["id"]) in used:
                kept.append(f"kept {model['name']} {version.get('name')}: an InferenceService "
                            "names it")  # fmt: skip
                continue
            for artifact in registry.items(f"/model_versions/{version['id']}/artifacts"):
                if not plain_properties(artifact.get("customProperties")).get(DELETED_AT):
                    deletions.append(Deletion(str(model["name"]), version, artifact,
                                              targets(artifact, version)))  # fmt: skip
    return deletions, kept


def targets(artifact: Resource, version: Resource) -> tuple[str, ...]:
    """The URIs whose bytes belong to this artifact."""
    uri = str(artifact.get("uri") or "")
    if uri.startswith("oci://"):
        digest = plain_properties(artifact.get("customProperties")).get("modelcar_digest")
        return (f"{uri}@{digest}" if digest and "@" not in uri else uri,)
    if not uri.startswith("s3://"):
        return ()
    props = plain_properties(version.get("customProperties"))
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
    scheme = "http" if is_loopback(urlsplit(f"//{host}").hostname or "") else "https"
    base = f"{scheme}://{host}/v2/{repository}/manifests"
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


def still_deletable(registry: Registry, deletion: Deletion) -> bool:
    """The version is still ARCHIVED and unused (read again now)."""
    version = registry.version(str(deletion.version["id"]))
    return version.get("state") == ARCHIVED and str(version["id"]) not in registry.used_versions()


def execute(registry: Registry, deletion: Deletion, storage: StorageSettings) -> str:
    """Delete one artifact's bytes, then mark it; a sentence saying what happened."""
    if not still_deletable(registry, deletion):
        return f"skipped {deletion.label}: restored or deployed meanwhile"
    try:
        delete_bytes(deletion, storage)
    except (CleanupError, StorageError) as exc:
        raise CleanupError(f"FAILED {deletion.label}, not marked deleted: {exc}") from exc
    when = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    registry.mark_deleted(deletion.artifact, when)
    return f"deleted {deletion.label}: {', '.join(deletion.targets)} (marked at {when})"


def run(registry: Registry, storage: StorageSettings, act: bool) -> tuple[list[str], int]:
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
    url = args.registry_url or os.environ.get("MODEL_REGISTRY_URL") or DEFAULT_REGISTRY_URL
    try:
        lines, failures = run(Registry(url), StorageSettings.from_env(), args.yes)
    except (httpx.HTTPError, ModelCardError, ValueError) as exc:
        print(f"The model registry at {url} could not be read or written ({exc}); start it "
              "(`make registry`) or set MODEL_REGISTRY_URL.", file=sys.stderr)  # fmt: skip
        return 2
    print("\n".join(lines))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
