"""Helpers for the upstream client's upload flows: local files, the bucket, the registry.

What a test compares: the files an upload starts from, the objects read back from the bucket
with boto3 (key, size, sha256 of the bytes) and what the registry's REST lists hold.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from contracts.s3 import s3_client
from stack.seaweed import S3Settings

REST = "/api/model_registry/v1alpha3"
REGISTRY_COLLECTIONS = ("registered_models", "model_versions", "artifacts")
WRITE_CHUNK = 8 << 20
# boto3 raises the client's 1 MiB default part size to S3's 5 MiB minimum.
S3_MIN_PART_SIZE = 5 << 20


@dataclass(frozen=True)
class StoredFile:
    """A file's size and the sha256 of its bytes, locally or in the bucket."""

    size: int
    sha256: str


@dataclass(frozen=True)
class ClientUri:
    """The parts of the client-built `s3://bucket/prefix?endpoint=...&defaultRegion=...`."""

    bucket: str
    prefix: str
    endpoint: str
    region: str | None


def write_random_file(path: Path, size: int, seed: int = 0) -> Path:
    """`size` seeded pseudo-random bytes at `path` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    generator = random.Random(seed)
    with path.open("wb") as out:
        for start in range(0, size, WRITE_CHUNK):
            out.write(generator.randbytes(min(WRITE_CHUNK, size - start)))
    return path


def write_tree(root: Path, sizes: dict[str, int]) -> Path:
    """Files of the given sizes at the given POSIX paths below `root`."""
    for seed, (relative, size) in enumerate(sorted(sizes.items())):
        write_random_file(root / relative, size, seed)
    return root


def file_digest(path: Path) -> StoredFile:
    with path.open("rb") as source:
        digest = hashlib.file_digest(source, "sha256")
    return StoredFile(path.stat().st_size, digest.hexdigest())


def local_files(path: Path) -> dict[str, StoredFile]:
    """Every file an upload of `path` sends, by its key below the prefix (the name for a file)."""
    if path.is_file():
        return {path.name: file_digest(path)}
    files = (item for item in sorted(path.rglob("*")) if item.is_file())
    return {item.relative_to(path).as_posix(): file_digest(item) for item in files}


def bucket_client(s3: S3Settings, endpoint: str | None = None) -> Any:
    """A boto3 client with the demo keys, at `endpoint` (default: the server's)."""
    return s3_client(replace(s3, endpoint=endpoint or s3.endpoint))


def listed_sizes(client: Any, bucket: str, prefix: str) -> dict[str, int]:
    """Keys below `prefix/` (the whole bucket for "") and their listed sizes."""
    below = f"{prefix}/" if prefix else ""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=below)
    return {item["Key"]: item["Size"] for page in pages for item in page.get("Contents", [])}


def object_sha256(client: Any, bucket: str, key: str) -> str:
    """The sha256 of an object's bytes, streamed back from the server."""
    digest = hashlib.sha256()
    for chunk in client.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def bucket_files(client: Any, bucket: str, prefix: str) -> dict[str, StoredFile]:
    """Objects below `prefix/` by key relative to it, with listed size and read-back sha256."""
    sizes = listed_sizes(client, bucket, prefix)
    return {
        key.removeprefix(f"{prefix}/"): StoredFile(size, object_sha256(client, bucket, key))
        for key, size in sizes.items()
    }


def remove_bucket(client: Any, bucket: str) -> None:
    """Delete `bucket` and its objects if it exists (SeaweedFS creates buckets on upload)."""
    if bucket not in {item["Name"] for item in client.list_buckets()["Buckets"]}:
        return
    for key in listed_sizes(client, bucket, ""):
        client.delete_object(Bucket=bucket, Key=key)
    client.delete_bucket(Bucket=bucket)


def parse_client_uri(uri: str) -> ClientUri:
    parts = urlsplit(uri)
    assert parts.scheme == "s3", uri
    query = parse_qs(parts.query)
    region = query.get("defaultRegion", [None])[0]
    return ClientUri(parts.netloc, parts.path.lstrip("/"), query["endpoint"][0], region)


def files_at_uri(s3: S3Settings, uri: str) -> dict[str, StoredFile]:
    """What a consumer finds below a client-built URI (its own endpoint and bucket)."""
    location = parse_client_uri(uri)
    client = bucket_client(s3, location.endpoint)
    return bucket_files(client, location.bucket, location.prefix)


def multipart_etag(path: Path, part_size: int = S3_MIN_PART_SIZE) -> str:
    """The ETag S3 gives a multipart upload of `path`: md5 of the parts' md5s, dash, count."""
    part_digests = []
    with path.open("rb") as source:
        while part := source.read(part_size):
            part_digests.append(hashlib.md5(part).digest())
    combined = hashlib.md5(b"".join(part_digests)).hexdigest()
    return f'"{combined}-{len(part_digests)}"'


def registry_contents(registry_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every RegisteredModel, ModelVersion and artifact the registry lists."""
    contents = {}
    for collection in REGISTRY_COLLECTIONS:
        response = httpx.get(f"{registry_url}{REST}/{collection}", params={"pageSize": 100})
        response.raise_for_status()
        contents[collection] = response.json()["items"]
    return contents


def assert_nothing_registered(registry_url: str) -> None:
    assert registry_contents(registry_url) == dict.fromkeys(REGISTRY_COLLECTIONS, [])


def set_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@dataclass(frozen=True)
class UploadTarget:
    """A fresh registry, a fresh prefix in the S3 server's bucket, and the upstream client."""

    s3: S3Settings
    registry_url: str
    client: Any  # model_registry.ModelRegistry
    prefix: str

    def expected_uri(self, prefix: str | None = None) -> str:
        """The URI the client builds for an upload to `prefix` with the AWS_* settings."""
        path = prefix or self.prefix
        endpoint, region = self.s3.endpoint, self.s3.region
        return f"s3://{self.s3.bucket}/{path}?endpoint={endpoint}&defaultRegion={region}"

    def stored(self, prefix: str | None = None) -> dict[str, StoredFile]:
        """The objects below `prefix/` (default: this target's), read back."""
        return bucket_files(bucket_client(self.s3), self.s3.bucket, prefix or self.prefix)

    def registered(self) -> dict[str, list[dict[str, Any]]]:
        return registry_contents(self.registry_url)
