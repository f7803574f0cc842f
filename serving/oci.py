"""Pulling a modelcar through the OCI distribution API, verifying every byte on the way.

`oci://<host[:port]>/<repository>[:<tag>][@sha256:<hex>]`. The registry must be on the
allow-list. With a recorded digest, the tag (if any) must still point at it — a moved tag is
refused, not followed — and the manifest is fetched by that digest; then the config and every
layer, each checked against its digest and size, each layer's uncompressed tar against the
config's `diff_ids`. The files under `/models/` are the modelcar's content. Registries on
loopback are spoken to over plain HTTP, others over HTTPS; pulls are anonymous.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import ipaddress
import posixpath
import re
import tarfile
import threading
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from serving.errors import ArtifactUnavailable, LoadRefused

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
REFERENCE = re.compile(
    r"^(?P<registry>[A-Za-z0-9.-]+(?::[0-9]{1,5})?)/(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
MANIFEST_TYPES = (
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
MODELS_PREFIX = "models/"


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
        scheme = "http" if is_loopback(self.registry) else "https"
        return f"{scheme}://{self.registry}/v2/{self.repository}"

    @classmethod
    def parse(cls, uri: object, allowed_registries: frozenset[str]) -> OciLocation:
        """Parse and vet `uri`; LoadRefused says what is wrong with it."""
        text = uri.removeprefix("oci://") if isinstance(uri, str) else ""
        match = REFERENCE.match(text) if isinstance(uri, str) and uri.startswith("oci://") else None
        if match is None:
            raise LoadRefused(f"artifact location {uri!r} refused: not an image reference "
                              "oci://host[:port]/repository[:tag][@sha256:digest]")  # fmt: skip
        if match["registry"] not in allowed_registries:
            allowed = ", ".join(sorted(allowed_registries)) or "none"
            registry = match["registry"]
            raise LoadRefused(f"artifact location {uri!r} refused: registry {registry!r} "
                              f"is not allowed (allowed: {allowed})")  # fmt: skip
        if not match["tag"] and not match["digest"]:
            raise LoadRefused(f"artifact location {uri!r} refused: it names no tag or digest")
        return cls(match["registry"], match["repository"], match["tag"], match["digest"])


def is_loopback(registry: str) -> bool:
    """True for `localhost[:port]` and loopback IPs: no TLS there, as Docker and containerd
    assume by default."""
    host = registry.rsplit(":", 1)[0] if registry.count(":") == 1 else registry
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class OciConfig:
    """Which registries images may come from, and how long and how much to fetch."""

    allowed_registries: frozenset[str]
    timeout: float = 5.0
    max_bytes: int = 512 * 1024 * 1024


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
        return OciLocation.parse(uri, self.config.allowed_registries)

    def pull(self, uri: str, recorded_digest: str | None = None) -> Modelcar:
        """The modelcar at `uri`, pinned to `recorded_digest` (or the one in the URI)."""
        location = self.vet(uri)
        wanted = pinned_digest(location, recorded_digest)
        session = PullSession(self.client(), location, self.config.max_bytes)
        try:
            return session.pull(wanted)
        except httpx.HTTPError as exc:
            raise ArtifactUnavailable(
                f"OCI registry {location.registry} unreachable while pulling {uri} "
                f"({type(exc).__name__}: {exc})"
            ) from None

    def client(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=self.config.timeout, follow_redirects=True)
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def pinned_digest(location: OciLocation, recorded: str | None) -> str | None:
    """The digest the pull must end at; LoadRefused when the URI and the record disagree."""
    if recorded is not None and not DIGEST.match(recorded):
        raise LoadRefused(f"recorded digest {recorded!r} of {location.uri} is not sha256:<hex>")
    if recorded and location.digest and recorded != location.digest:
        raise LoadRefused(f"{location.uri} names digest {location.digest}, the registry "
                          f"records {recorded}")  # fmt: skip
    return recorded or location.digest


class PullSession:
    """One pull: manifest, config, layers, with a byte budget over all of them."""

    def __init__(self, client: httpx.Client, location: OciLocation, max_bytes: int) -> None:
        self.client, self.location, self.budget = client, location, max_bytes
        self.pulled = 0

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
        config = orjson.loads(self.blob(manifest["config"], "config"))
        files = self.model_files(manifest.get("layers") or [], diff_ids(config))
        return Modelcar(self.location.uri, wanted, files, self.pulled)

    def tag_digest(self) -> str:
        """What the tag points at now (the registry's Docker-Content-Digest)."""
        response = self.get(f"manifests/{self.location.tag}", method="HEAD")
        digest = response.headers.get("Docker-Content-Digest", "")
        if not DIGEST.match(digest):
            raise LoadRefused(f"registry {self.location.registry} gave no digest for "
                              f"{self.location.uri}")  # fmt: skip
        return str(digest)

    def manifest(self, digest: str) -> dict[str, Any]:
        body = self.get(f"manifests/{digest}").content
        self.check_digest(body, digest, "manifest")
        manifest = orjson.loads(body)
        media_type = manifest.get("mediaType")
        if media_type in INDEX_TYPES or "manifests" in manifest:
            raise LoadRefused(f"{self.location.uri} is a multi-platform index, not a modelcar "
                              "image: register the digest of one image manifest")  # fmt: skip
        if media_type not in (None, *MANIFEST_TYPES) or "config" not in manifest:
            raise LoadRefused(f"{self.location.uri} is not an image manifest ({media_type})")
        return dict(manifest)

    def blob(self, descriptor: dict[str, Any], what: str) -> bytes:
        digest, size = str(descriptor.get("digest")), int(descriptor.get("size", -1))
        if not DIGEST.match(digest):
            raise LoadRefused(f"{self.location.uri}: {what} has no sha256 digest ({digest!r})")
        body = self.get(f"blobs/{digest}").content
        if len(body) != size:
            raise LoadRefused(f"{self.location.uri}: {what} {digest} has {len(body)} bytes, "
                              f"the manifest says {size}")  # fmt: skip
        self.check_digest(body, digest, what)
        return body

    def model_files(self, layers: list[dict[str, Any]], diffs: list[str]) -> dict[str, bytes]:
        """The files under /models/ across every layer (later layers win)."""
        if len(diffs) != len(layers):
            raise LoadRefused(f"{self.location.uri}: the config lists {len(diffs)} layers, "
                              f"the manifest {len(layers)}")  # fmt: skip
        files: dict[str, bytes] = {}
        for layer, diff_id in zip(layers, diffs, strict=True):
            tar = uncompressed(self.blob(layer, "layer"), str(layer.get("mediaType")))
            self.check_digest(tar, diff_id, "uncompressed layer")
            files.update(models_in_tar(tar))
        if not files:
            raise LoadRefused(f"{self.location.uri} is not a modelcar: no files under /models/")
        return files

    def check_digest(self, body: bytes, digest: str, what: str) -> None:
        actual = "sha256:" + hashlib.sha256(body).hexdigest()
        if actual != digest:
            raise LoadRefused(f"digest mismatch in {self.location.uri}: {what} should be "
                              f"{digest}, the registry sent {actual}")  # fmt: skip

    def get(self, path: str, method: str = "GET") -> httpx.Response:
        accept = ", ".join((*MANIFEST_TYPES, *INDEX_TYPES))
        url = f"{self.location.base_url}/{path}"
        with self.client.stream(method, url, headers={"Accept": accept}) as response:
            if response.status_code != 200:
                raise refused_by_registry(self.location, path, response)
            body = self.read_within_budget(response)
        return httpx.Response(200, headers=response.headers, content=body)

    def read_within_budget(self, response: httpx.Response) -> bytes:
        chunks = []
        for chunk in response.iter_bytes():
            self.pulled += len(chunk)
            if self.pulled > self.budget:
                raise LoadRefused(f"{self.location.uri} is over the limit of {self.budget} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def diff_ids(config: Any) -> list[str]:
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    return [str(d) for d in (rootfs or {}).get("diff_ids") or []]


def uncompressed(blob: bytes, media_type: str) -> bytes:
    if media_type.endswith(("+gzip", ".tar.gzip", "tar.gzip")) or blob[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(blob)
        except (OSError, EOFError) as exc:
            raise LoadRefused(f"a layer is not valid gzip: {exc}") from None
    return blob


def models_in_tar(tar_bytes: bytes) -> dict[str, bytes]:
    """Regular files under models/ in one layer, by their path below models/."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
            for member in tar:
                name = posixpath.normpath(member.name.lstrip("/"))
                if member.isfile() and name.startswith(MODELS_PREFIX):
                    extracted = tar.extractfile(member)
                    if extracted is not None:
                        files[name.removeprefix(MODELS_PREFIX)] = extracted.read()
    except tarfile.TarError as exc:
        raise LoadRefused(f"a layer is not a valid tar archive: {exc}") from None
    return files


def refused_by_registry(
    location: OciLocation, path: str, response: httpx.Response
) -> LoadRefused | ArtifactUnavailable:
    """Map a registry's error answer: missing/denied refuse, 5xx is unavailability."""
    response.read()
    status = response.status_code
    try:
        errors = orjson.loads(response.content).get("errors") or []
        what = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors)
    except (orjson.JSONDecodeError, AttributeError):
        what = ""
    what = what or f"HTTP {status}"
    if status >= 500:
        return ArtifactUnavailable(f"OCI registry failed on {location.uri} ({what})")
    if status in (401, 403):
        return LoadRefused(f"OCI registry {location.registry} refused an anonymous pull of "
                           f"{location.uri} ({what})")  # fmt: skip
    if status == 404:
        return LoadRefused(f"{path.split('/')[0][:-1]} of {location.uri} not found in the "
                           f"registry ({what})")  # fmt: skip
    return LoadRefused(f"OCI registry answered {status} for {location.uri} ({what})")
