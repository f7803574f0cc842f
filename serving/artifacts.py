"""Where artifacts may come from, and fetching them: `s3://` from one configured endpoint only.

A location is refused unless it is `s3://<bucket>/<key>` with the bucket on the allow-list
and a key without `..` segments, backslashes, query or fragment. Used by the inference
server before it fetches anything and by the controller before it asks for a load: parsing
raises the neutral ReferenceRefused, which the server answers as LoadRefused (400).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from contracts.s3 import s3_client
from serving.errors import ArtifactUnavailable, LoadRefused

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]\Z")
FORBIDDEN_KEY_CHARACTERS = set("\\?#\x00") | {chr(code) for code in range(32)}


class ReferenceRefused(ValueError):
    """An artifact reference (`s3://` or `oci://` URI, recorded digest) that may not be
    loaded, found by parsing alone; the message says why. No HTTP status: the controller
    fails the service with it, the server answers it as LoadRefused (`refused_as_load`)."""


@contextmanager
def refused_as_load() -> Iterator[None]:
    """The server's view of a refused reference: LoadRefused (400), same message."""
    try:
        yield
    except ReferenceRefused as exc:
        raise LoadRefused(str(exc)) from None


@dataclass(frozen=True)
class S3Location:
    """An object in an allowed bucket."""

    bucket: str
    key: str

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def parse(cls, uri: object, allowed_buckets: frozenset[str]) -> S3Location:
        """Parse and vet `uri`; ReferenceRefused says what is wrong with it."""
        if not isinstance(uri, str) or not uri.startswith("s3://"):
            raise ReferenceRefused(
                f"artifact location {uri!r} refused: only s3:// URIs are allowed"
            )
        bucket, _, key = uri.removeprefix("s3://").partition("/")
        if not BUCKET_NAME.match(bucket):
            raise ReferenceRefused(f"artifact location {uri!r} refused: bad bucket name {bucket!r}")
        if bucket not in allowed_buckets:
            allowed = ", ".join(sorted(allowed_buckets))
            raise ReferenceRefused(
                f"artifact location {uri!r} refused: bucket {bucket!r} is not allowed "
                f"(allowed: {allowed})"
            )
        check_key(uri, key)
        return cls(bucket, key)


def check_key(uri: str, key: str) -> None:
    """Refuse empty keys, `..` or empty segments, and characters that could redirect a fetch."""
    segments = key.split("/")
    if not key or any(segment in {"", ".", ".."} for segment in segments):
        raise ReferenceRefused(
            f"artifact location {uri!r} refused: the key must be a plain path without "
            "'..', '.' or empty segments"
        )
    if any(char in FORBIDDEN_KEY_CHARACTERS for char in key):
        raise ReferenceRefused(f"artifact location {uri!r} refused: forbidden character in the key")


@dataclass(frozen=True)
class S3Config:
    """How to reach the one S3 endpoint artifacts come from."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str
    allowed_buckets: frozenset[str]
    timeout: float = 5.0
    max_bytes: int = 512 * 1024 * 1024


class ArtifactStore:
    """Fetches vetted S3 objects into memory (thread-safe; the boto3 client is made lazily)."""

    def __init__(self, config: S3Config) -> None:
        self.config = config
        self._client: Any = None
        self._lock = threading.Lock()

    def vet(self, uri: str) -> S3Location:
        """The location of `uri` if it may be fetched; LoadRefused naming the reason if not."""
        with refused_as_load():
            return S3Location.parse(uri, self.config.allowed_buckets)

    def fetch(self, uri: str) -> bytes:
        """The object's bytes; LoadRefused when it is refused or missing, ArtifactUnavailable
        when S3 cannot be reached."""
        location = self.vet(uri)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client().get_object(Bucket=location.bucket, Key=location.key)
            return self._read_body(location, response)
        except ClientError as exc:
            raise refused_by_s3(location, exc) from None
        except BotoCoreError as exc:
            raise ArtifactUnavailable(
                f"S3 endpoint {self.config.endpoint} unreachable while fetching "
                f"{location.uri}: {exc}"
            ) from None

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                timeout = self.config.timeout
                self._client = s3_client(self.config, connect_timeout=timeout, read_timeout=timeout)
            return self._client

    def _read_body(self, location: S3Location, response: dict[str, Any]) -> bytes:
        size = int(response.get("ContentLength", 0))
        if size > self.config.max_bytes:
            response["Body"].close()
            raise LoadRefused(
                f"artifact {location.uri} has {size} bytes, over the limit of "
                f"{self.config.max_bytes}"
            )
        return bytes(response["Body"].read())


def refused_by_s3(location: S3Location, exc: Any) -> LoadRefused | ArtifactUnavailable:
    """Map an S3 error answer to our error: missing/denied refuse, 5xx is unavailability."""
    error = exc.response.get("Error", {})
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    what = f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    if status >= 500:
        return ArtifactUnavailable(f"S3 failed while fetching {location.uri} ({what})")
    if status == 404 or error.get("Code") in {"NoSuchKey", "NoSuchBucket"}:
        return LoadRefused(f"artifact {location.uri} not found in S3 ({what})")
    return LoadRefused(f"S3 refused to serve {location.uri} ({what})")
