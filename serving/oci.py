"""Pulling a modelcar through the OCI distribution API, verifying every byte on the way.

`oci://<host[:port]>/<repository>[:<tag>][@sha256:<hex>]`. The registry must be on the
allow-list. With a recorded digest, the tag (if any) must still point at it — a moved tag is
refused, not followed — and the manifest is fetched by that digest; then the config and every
layer, each checked against its digest and size, each layer's uncompressed tar against the
config's `diff_ids`. The files under `/models/` are the modelcar's content. Registries on
loopback are spoken to over plain HTTP, others over HTTPS; pulls are anonymous.

A registry is not trusted to be well-behaved: manifests and configs are read up to 4 MiB,
a blob up to the size its descriptor gives, error bodies up to 64 KiB, everything together
(and everything uncompressed) up to `max_bytes`, and a whole pull ends after `pull_timeout`.
Redirects are followed only to the registry's own host or to `redirect_hosts`, and no text of
the registry's ever reaches an error (`serving.oci_answers`).
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from contracts.oci import registry_scheme
from serving.artifacts import ReferenceRefused, refused_as_load
from serving.errors import ArtifactUnavailable, LoadRefused
from serving.oci_answers import (
    MAX_ERROR_BYTES,
    MAX_REDIRECTS,
    REDIRECTS,
    redirect_target,
    refused_by_registry,
)
from serving.oci_layers import gunzip, models_in_tar

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}\Z")
REGISTRY = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::[0-9]{1,5})?"  # host or [IPv6], port
REFERENCE = re.compile(
    rf"^(?P<registry>{REGISTRY})/(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?\Z"
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
ACCEPT = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))
MAX_DOCUMENT_BYTES = 4 * 1024 * 1024  # manifests and configs: containerd's limit too


@dataclass(frozen=True)
class OciLocation:
    """An image in an allowed registry: repository and tag and/or digest."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @property
    def uri(self) -> str:
        tag = f":{self.tag}" if self.tag else ""
        digest = f"@{self.digest}" if self.digest else ""
        return f"oci://{self.registry}/{self.repository}{tag}{digest}"

    @property
    def base_url(self) -> str:
        return f"{registry_scheme(self.registry)}://{self.registry}/v2/{self.repository}"

    @classmethod
    def parse(cls, uri: object, allowed_registries: frozenset[str]) -> OciLocation:
        """Parse and vet `uri`; ReferenceRefused says what is wrong with it."""
        text = uri.removeprefix("oci://") if isinstance(uri, str) else ""
        match = REFERENCE.match(text) if isinstance(uri, str) and uri.startswith("oci://") else None
        if match is None:
            raise ReferenceRefused(f"artifact location {uri!r} refused: not an image reference "
                              "oci://host[:port]/repository[:tag][@sha256:digest]")  # fmt: skip
        if not is_allowed(match["registry"], match["repository"], allowed_registries):
            allowed = ", ".join(sorted(allowed_registries)) or "none"
            registry = match["registry"]
            raise ReferenceRefused(f"artifact location {uri!r} refused: registry {registry!r} "
                              f"is not allowed (allowed: {allowed})")  # fmt: skip
        if not match["tag"] and not match["digest"]:
            raise ReferenceRefused(f"artifact location {uri!r} refused: it names no tag or digest")
        return cls(match["registry"], match["repository"], match["tag"], match["digest"])


def pinned_uri(uri: str, digest: str) -> str:
    """A vetted `oci://` reference by `digest` alone, its tag dropped: what a moved tag
    cannot change (KServe's storageUri)."""
    match = REFERENCE.match(uri.removeprefix("oci://"))
    if match is None:
        raise ReferenceRefused(f"artifact location {uri!r} refused: not an image reference")
    return f"oci://{match['registry']}/{match['repository']}@{digest}"


def is_allowed(registry: str, repository: str, allowed_registries: frozenset[str]) -> bool:
    """True when an entry (`host[:port]`, optionally with a namespace path) covers the image."""
    image = f"{registry}/{repository}"
    return any(image.startswith(f"{entry.rstrip('/')}/") for entry in allowed_registries)


@dataclass(frozen=True)
class OciConfig:
    """Which registries images may come from, and how long and how much to fetch."""

    allowed_registries: frozenset[str]
    timeout: float = 5.0
    max_bytes: int = 512 * 1024 * 1024
    pull_timeout: float = 120.0
    redirect_hosts: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Modelcar:
    """A pulled, verified modelcar: its manifest digest and the files under /models/."""

    uri: str
    digest: str
    files: dict[str, bytes]
    pulled_bytes: int

    def file(self, name: str) -> bytes | None:
        return self.files.get(name)


class OciPuller:
    """Pulls modelcars from allowed registries (thread-safe; one HTTP client, made lazily)."""

    def __init__(self, config: OciConfig) -> None:
        self.config = config
        self._client: httpx.Client | None = None
        self._lock = threading.Lock()

    def vet(self, uri: str) -> OciLocation:
        with refused_as_load():
            return OciLocation.parse(uri, self.config.allowed_registries)

    def pull(self, uri: str, recorded_digest: str | None = None) -> Modelcar:
        """The modelcar at `uri`, pinned to `recorded_digest` (or the one in the URI)."""
        location = self.vet(uri)
        with refused_as_load():
            wanted = pinned_digest(location, recorded_digest)
        session = PullSession(self.client(), location, self.config)
        try:
            return session.pull(wanted)
        except httpx.HTTPError as exc:
            raise ArtifactUnavailable(  # the exception's text may quote the registry: not kept
                f"OCI registry {location.registry} unreachable while pulling {uri} "
                f"({type(exc).__name__})"
            ) from None

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.config.timeout, follow_redirects=False)
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def pinned_digest(location: OciLocation, recorded: str | None) -> str | None:
    """The digest the pull must end at; ReferenceRefused when the URI and the record disagree."""
    if recorded is not None and not DIGEST.match(recorded):
        raise ReferenceRefused(
            f"recorded digest {recorded!r} of {location.uri} is not sha256:<hex>"
        )
    if recorded and location.digest and recorded != location.digest:
        raise ReferenceRefused(f"{location.uri} names digest {location.digest}, the registry "
                          f"records {recorded}")  # fmt: skip
    return recorded or location.digest


class PullSession:
    """One pull: manifest, config, layers, each read within its bounds and the deadline."""

    def __init__(self, client: httpx.Client, location: OciLocation, config: OciConfig) -> None:
        self.client, self.location, self.budget = client, location, config.max_bytes
        self.pull_timeout, self.redirect_hosts = config.pull_timeout, config.redirect_hosts
        self.ends_at = time.monotonic() + config.pull_timeout
        self.pulled = 0
        self.unpacked = 0

    def pull(self, wanted: str | None) -> Modelcar:
        if self.location.tag:
            current = self.tag_digest()
            if wanted and current != wanted:
                raise LoadRefused(
                    f"tag moved: {self.location.uri} now points at {current}, the registry "
                    f"recorded {wanted} at registration; refusing to load another image"
                )
            wanted = wanted or current
        assert wanted is not None  # parse() demands a tag or a digest
        manifest = self.manifest(wanted)
        config = self.document(self.blob(manifest["config"], "config"), "config")
        files = self.model_files(manifest["layers"], diff_ids(config))
        return Modelcar(self.location.uri, wanted, files, self.pulled)

    def tag_digest(self) -> str:
        """What the tag points at now (the registry's Docker-Content-Digest)."""
        response = self.get(f"manifests/{self.location.tag}", 0, method="HEAD")
        digest = response.headers.get("Docker-Content-Digest", "")
        if not DIGEST.match(digest):
            raise LoadRefused(f"registry {self.location.registry} gave no digest for "
                              f"{self.location.uri}")  # fmt: skip
        return str(digest)

    def manifest(self, digest: str) -> dict[str, Any]:
        body = self.get(f"manifests/{digest}", MAX_DOCUMENT_BYTES).content
        self.check_digest(body, digest, "manifest")
        manifest = self.document(body, "manifest")
        media_type = manifest.get("mediaType")
        if media_type in INDEX_TYPES or "manifests" in manifest:
            raise LoadRefused(f"{self.location.uri} is a multi-platform index, not a modelcar "
                              "image: register the digest of one image manifest")  # fmt: skip
        if media_type not in (None, *MANIFEST_TYPES) or "config" not in manifest:
            raise LoadRefused(f"{self.location.uri} is not an image manifest (its mediaType "
                              "is none of the image manifest types)")  # fmt: skip
        if not isinstance(manifest.get("layers", []), list):
            raise LoadRefused(f"{self.location.uri}: the manifest's layers are not a list")
        return {**manifest, "layers": manifest.get("layers") or []}

    def document(self, body: bytes, what: str) -> dict[str, Any]:
        """A manifest or config: a JSON object, else LoadRefused."""
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict):
            raise LoadRefused(f"{self.location.uri}: the {what} is not a JSON object")
        return document

    def blob(self, descriptor: object, what: str) -> bytes:
        """The blob a descriptor names, read no further than the size it gives."""
        digest, size = self.described(descriptor, what)
        body = self.get(f"blobs/{digest}", size).content
        if len(body) != size:
            raise LoadRefused(f"{self.location.uri}: {what} {digest} has {len(body)} bytes, "
                              f"the manifest says {size}")  # fmt: skip
        self.check_digest(body, digest, what)
        return body

    def described(self, descriptor: object, what: str) -> tuple[str, int]:
        """A descriptor's digest and size, vetted before anything is fetched."""
        fields = descriptor if isinstance(descriptor, dict) else {}
        digest, size = str(fields.get("digest")), fields.get("size")
        if not DIGEST.match(digest):
            raise LoadRefused(f"{self.location.uri}: {what} has no sha256 digest")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise LoadRefused(f"{self.location.uri}: {what} {digest} has no size")
        if self.pulled + size > self.budget:
            raise LoadRefused(f"{self.location.uri} is over the limit of {self.budget} bytes "
                              f"({what} {digest} has {size})")  # fmt: skip
        return digest, size

    def model_files(self, layers: list[Any], diffs: list[str]) -> dict[str, bytes]:
        """The files under /models/ across every layer (later layers win)."""
        if len(diffs) != len(layers):
            raise LoadRefused(f"{self.location.uri}: the config lists {len(diffs)} layers, "
                              f"the manifest {len(layers)}")  # fmt: skip
        files: dict[str, bytes] = {}
        for layer, diff_id in zip(layers, diffs, strict=True):
            tar = self.layer_tar(layer)
            self.check_digest(tar, diff_id, "uncompressed layer")
            files.update(models_in_tar(tar))
        if not files:
            raise LoadRefused(f"{self.location.uri} is not a modelcar: no files under /models/")
        return files

    def layer_tar(self, layer: Any) -> bytes:
        """A layer's tar, decompressed within what is left of the budget."""
        blob = self.blob(layer, "layer")
        media_type = str(layer.get("mediaType"))
        if "zstd" in media_type:
            raise LoadRefused(f"{self.location.uri}: zstd layers are not supported")
        gzipped = media_type.endswith(("+gzip", "tar.gzip")) or blob[:2] == b"\x1f\x8b"
        tar = gunzip(blob, self.budget - self.unpacked) if gzipped else blob
        self.unpacked += len(tar)
        if self.unpacked > self.budget:
            raise LoadRefused(f"{self.location.uri} is over the limit of {self.budget} bytes "
                              "uncompressed")  # fmt: skip
        return tar

    def check_digest(self, body: bytes, digest: str, what: str) -> None:
        actual = "sha256:" + hashlib.sha256(body).hexdigest()
        if actual != digest:
            raise LoadRefused(f"digest mismatch in {self.location.uri}: {what} should be "
                              f"{digest}, the registry sent {actual}")  # fmt: skip

    def get(self, path: str, limit: int, method: str = "GET") -> httpx.Response:
        """The registry's 200 answer with at most `limit` bytes of body, following allowed
        redirects; refusals mapped."""
        url = f"{self.location.base_url}/{path}"
        for _ in range(MAX_REDIRECTS + 1):
            with self.client.stream(method, url, headers={"Accept": ACCEPT}) as response:
                if response.status_code in REDIRECTS:
                    url = redirect_target(url, response, self.location.base_url,
                                          self.redirect_hosts)  # fmt: skip
                    continue
                if response.status_code != 200:
                    error = self.read(response, MAX_ERROR_BYTES, path, cut=True)
                    raise refused_by_registry(self.location.registry, self.location.uri, path,
                                              response.status_code, error)  # fmt: skip
                body = self.read(response, limit, path)
            return httpx.Response(200, headers=response.headers, content=body)
        raise LoadRefused(f"OCI registry {self.location.registry} redirected {path} more than "
                          f"{MAX_REDIRECTS} times")  # fmt: skip

    def read(self, response: httpx.Response, limit: int, path: str, cut: bool = False) -> bytes:
        """The body, at most `limit` bytes (more is refused, or with `cut` dropped), within
        the pull's byte budget and deadline."""
        body = bytearray()
        for chunk in response.iter_bytes():
            self.pulled += len(chunk)
            self.check_time_and_budget()
            body += chunk
            if len(body) > limit and cut:
                return bytes(body[:limit])
            if len(body) > limit:
                raise LoadRefused(f"{self.location.uri}: the registry sent more than {limit} "
                                  f"bytes for {path}")  # fmt: skip
        return bytes(body)

    def check_time_and_budget(self) -> None:
        if time.monotonic() > self.ends_at:
            registry, uri = self.location.registry, self.location.uri
            raise ArtifactUnavailable(f"OCI registry {registry} too slow: pulling {uri} took "
                                      f"over {self.pull_timeout:g} s")  # fmt: skip
        if self.pulled > self.budget:
            raise LoadRefused(f"{self.location.uri} is over the limit of {self.budget} bytes")


def diff_ids(config: dict[str, Any]) -> list[str]:
    rootfs = config.get("rootfs")
    found = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    return [str(d) for d in found] if isinstance(found, list) else []
