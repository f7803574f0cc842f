"""S3 storage through boto3 against a real SeaweedFS, and its one-sentence error messages."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stack.proc import free_port
from training.storage import (
    BucketMissingError,
    CredentialsRejectedError,
    EndpointUnreachableError,
    ObjectMissingError,
    StorageError,
    StorageSettings,
    check_bucket,
    download_file,
    read_object,
    split_s3_uri,
    upload_file,
)


def test_storage_settings_prefer_override_then_env_then_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_S3_ENDPOINT", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_S3_BUCKET", "from-env")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    settings = StorageSettings.from_env(region="ap-south-1", endpoint=None)
    assert settings.bucket == "from-env"
    assert settings.region == "ap-south-1"
    assert settings.endpoint == "http://localhost:9000"
    assert settings.storage_key == "aws-connection-from-env"


def test_split_s3_uri_returns_bucket_and_key() -> None:
    assert split_s3_uri("s3://models/MNIST/v1/model.onnx") == ("models", "MNIST/v1/model.onnx")


def test_split_s3_uri_rejects_other_schemes() -> None:
    with pytest.raises(StorageError, match="not an s3://bucket/key URI"):
        split_s3_uri("https://example.org/model.onnx")


def test_check_bucket_names_endpoint_when_unreachable() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EndpointUnreachableError) as caught:
        check_bucket(StorageSettings(endpoint=endpoint))
    message = str(caught.value)
    assert endpoint in message
    assert "AWS_S3_ENDPOINT" in message
    assert "\n" not in message


@pytest.mark.server
def test_upload_file_round_trips_through_real_s3(storage: StorageSettings, tmp_path: Path) -> None:
    source = tmp_path / "blob.bin"
    source.write_bytes(os.urandom(3000))
    uri = upload_file(storage, source, "tests/round-trip/blob.bin")
    assert uri == f"s3://{storage.bucket}/tests/round-trip/blob.bin"
    copy = download_file(storage, "tests/round-trip/blob.bin", tmp_path / "out" / "blob.bin")
    assert copy.read_bytes() == source.read_bytes()
    assert read_object(storage, "tests/round-trip/blob.bin") == source.read_bytes()


@pytest.mark.server
def test_upload_file_shows_progress_for_large_files(
    storage: StorageSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "large.bin"
    source.write_bytes(os.urandom(2 << 20))
    upload_file(storage, source, "tests/progress/large.bin")
    assert "upload large.bin" in capsys.readouterr().err


@pytest.mark.server
def test_check_bucket_accepts_existing_bucket(storage: StorageSettings) -> None:
    check_bucket(storage)


@pytest.mark.server
def test_check_bucket_names_credentials_when_rejected(storage: StorageSettings) -> None:
    wrong = StorageSettings(storage.endpoint, storage.bucket, "wrong-key", "wrong-secret")
    with pytest.raises(CredentialsRejectedError) as caught:
        check_bucket(wrong)
    message = str(caught.value)
    assert storage.endpoint in message
    assert "AWS_ACCESS_KEY_ID" in message
    assert "'wrong-key'" in message


@pytest.mark.server
def test_check_bucket_names_bucket_when_missing(storage: StorageSettings) -> None:
    missing = StorageSettings(storage.endpoint, "no-such-bucket", storage.access_key,
                              storage.secret_key)  # fmt: skip
    with pytest.raises(BucketMissingError) as caught:
        check_bucket(missing)
    message = str(caught.value)
    assert "'no-such-bucket'" in message
    assert storage.endpoint in message
    assert "AWS_S3_BUCKET" in message


@pytest.mark.server
def test_upload_file_names_bucket_when_missing(storage: StorageSettings, tmp_path: Path) -> None:
    missing = StorageSettings(storage.endpoint, "no-such-bucket", storage.access_key,
                              storage.secret_key)  # fmt: skip
    source = tmp_path / "blob.bin"
    source.write_bytes(b"x")
    with pytest.raises(BucketMissingError, match="AWS_S3_BUCKET"):
        upload_file(missing, source, "k/blob.bin")


@pytest.mark.server
def test_upload_file_names_credentials_when_rejected(
    storage: StorageSettings, tmp_path: Path
) -> None:
    wrong = StorageSettings(storage.endpoint, storage.bucket, "wrong-key", "wrong-secret")
    source = tmp_path / "blob.bin"
    source.write_bytes(b"x")
    with pytest.raises(CredentialsRejectedError, match="AWS_SECRET_ACCESS_KEY"):
        upload_file(wrong, source, "k/blob.bin")


@pytest.mark.server
def test_download_file_reports_missing_object(storage: StorageSettings, tmp_path: Path) -> None:
    with pytest.raises(ObjectMissingError, match="does not exist"):
        download_file(storage, "tests/never-written.bin", tmp_path / "x.bin")
