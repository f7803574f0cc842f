"""Upload and download model files on any S3 server, configured by the `AWS_*` variables.

The variable names are the ones Open Data Hub data connections and the upstream
`model-registry` client use. Failures become one `StorageError` sentence that names the
endpoint and the variable to fix, instead of a botocore traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from contracts.defaults import S3_ACCESS_KEY, S3_BUCKET, S3_ENDPOINT, S3_REGION, S3_SECRET_KEY
from contracts.s3 import s3_client

DEFAULT_ENDPOINT = S3_ENDPOINT.default
DEFAULT_BUCKET = S3_BUCKET.default
DEFAULT_ACCESS_KEY = S3_ACCESS_KEY.default
DEFAULT_SECRET_KEY = S3_SECRET_KEY.default
DEFAULT_REGION = S3_REGION.default
PROGRESS_THRESHOLD = 1 << 20  # files at least this big show a progress bar

CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "InvalidToken",
    "403",
    "Forbidden",
}
MISSING_BUCKET_CODES = {"NoSuchBucket", "404", "NotFound"}


class StorageError(Exception):
    """An S3 operation failed; the message says which setting to fix."""


class EndpointUnreachableError(StorageError):
    """Nothing answers at AWS_S3_ENDPOINT."""


class CredentialsRejectedError(StorageError):
    """The S3 server refused AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY."""


class BucketMissingError(StorageError):
    """AWS_S3_BUCKET does not exist on the server."""


class ObjectMissingError(StorageError):
    """The requested key does not exist in the bucket."""


@dataclass(frozen=True)
class StorageSettings:
    """Where the S3 server is, which bucket, and the key pair that signs requests."""

    endpoint: str = DEFAULT_ENDPOINT
    bucket: str = DEFAULT_BUCKET
    access_key: str = DEFAULT_ACCESS_KEY
    secret_key: str = DEFAULT_SECRET_KEY
    region: str = DEFAULT_REGION

    @classmethod
    def from_env(cls, **overrides: str | None) -> StorageSettings:
        """Explicit overrides (not None) > AWS_* environment variables > demo defaults."""
        from_environment = {
            "endpoint": os.environ.get(S3_ENDPOINT.env),
            "bucket": os.environ.get(S3_BUCKET.env),
            "access_key": os.environ.get(S3_ACCESS_KEY.env),
            "secret_key": os.environ.get(S3_SECRET_KEY.env),
            "region": os.environ.get(S3_REGION.env),
        }
        chosen: dict[str, str] = {}
        for name, value in from_environment.items():
            if picked := overrides.get(name) or value:
                chosen[name] = picked
        return replace(cls(), **chosen)

    @property
    def storage_key(self) -> str:
        """The data connection name the registry records (`aws-connection-<bucket>`)."""
        return f"aws-connection-{self.bucket}"

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"


def storage_error(exc: Exception, settings: StorageSettings, key: str = "") -> StorageError:
    """Translate a botocore/boto3 exception into one sentence naming what to fix."""
    from botocore.exceptions import ClientError

    where = f"the S3 endpoint {settings.endpoint}"
    if not isinstance(exc, ClientError):
        return EndpointUnreachableError(
            f"Cannot reach {where} ({type(exc).__name__}): start the S3 server "
            "(`make s3`) or set AWS_S3_ENDPOINT to a reachable S3 server."
        )
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in CREDENTIAL_CODES:
        return CredentialsRejectedError(
            f"{where.capitalize()} rejected access key {settings.access_key!r} ({code}): set "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to a key pair it accepts."
        )
    if code == "NoSuchKey" or (key and code in MISSING_BUCKET_CODES and code != "NoSuchBucket"):
        return ObjectMissingError(f"{settings.uri(key)} does not exist at {settings.endpoint}.")
    if code in MISSING_BUCKET_CODES:
        return BucketMissingError(
            f"Bucket {settings.bucket!r} does not exist at {where}: create it (`make s3` does) "
            "or set AWS_S3_BUCKET to an existing bucket."
        )
    return StorageError(f"{where.capitalize()} answered {code} for {settings.uri(key)}: {exc}")


@contextmanager
def translated_errors(settings: StorageSettings, key: str = "") -> Iterator[None]:
    """Re-raise botocore failures inside the block as StorageError sentences."""
    from boto3.exceptions import S3UploadFailedError
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except S3UploadFailedError as exc:
        cause = exc.__context__ if isinstance(exc.__context__, ClientError) else exc
        raise storage_error(cause, settings, key) from exc
    except (BotoCoreError, ClientError) as exc:
        raise storage_error(exc, settings, key) from exc


def check_bucket(settings: StorageSettings) -> None:
    """Raise a StorageError unless the endpoint answers, the keys work and the bucket exists."""
    with translated_errors(settings):
        s3_client(settings).head_bucket(Bucket=settings.bucket)


def progress_callback(path: Path, enabled: bool | None) -> tuple[Callable[[int], Any] | None, Any]:
    """A tqdm bar fed by boto3's byte-count callback (only for big files unless forced)."""
    size = path.stat().st_size
    if enabled is False or (enabled is None and size < PROGRESS_THRESHOLD):
        return None, None
    from tqdm.auto import tqdm

    bar = tqdm(total=size, unit="B", unit_scale=True, desc=f"upload {path.name}")
    return bar.update, bar


def upload_file(
    settings: StorageSettings, path: Path, key: str, *, progress: bool | None = None
) -> str:
    """Upload `path` to s3://bucket/key and return that URI (progress bar for big files).

    The bucket must exist: some servers (SeaweedFS) would silently create it on upload."""
    path = Path(path)
    check_bucket(settings)
    callback, bar = progress_callback(path, progress)
    try:
        with translated_errors(settings, key):
            s3_client(settings).upload_file(str(path), settings.bucket, key, Callback=callback)
    finally:
        if bar is not None:
            bar.close()
    return settings.uri(key)


def download_file(settings: StorageSettings, key: str, path: Path) -> Path:
    """Download s3://bucket/key to `path` (parent directories are created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with translated_errors(settings, key):
        s3_client(settings).download_file(settings.bucket, key, str(path))
    return path


def read_object(settings: StorageSettings, key: str) -> bytes:
    """The bytes of s3://bucket/key."""
    with translated_errors(settings, key):
        response = s3_client(settings).get_object(Bucket=settings.bucket, Key=key)
        return bytes(response["Body"].read())


def split_s3_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/a/b' → ('bucket', 'a/b')."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise StorageError(f"{uri!r} is not an s3://bucket/key URI.")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key
