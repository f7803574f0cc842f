"""The upstream client's upload flows (`model-registry`, unchanged) against SeaweedFS and
a real registry_local: `upload_artifact_and_register_model`, `save_to_s3` and
`utils.upload_to_s3`, with `S3Params` or the documented `AWS_*` variables.

Each good case checks what is in the bucket (keys, sizes, sha256 read back with boto3), what
is registered, and that the registered URI leads to those objects. Each bad input checks the
exception the user gets and what is left behind, as the client leaves it.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import EndpointConnectionError
from pydantic import ValidationError

from stack.proc import free_port
from stack.seaweed import S3Settings

from .upload_support import (
    UploadTarget,
    assert_nothing_registered,
    bucket_client,
    files_at_uri,
    local_files,
    multipart_etag,
    remove_bucket,
    set_env,
    write_random_file,
    write_tree,
)

model_registry = pytest.importorskip("model_registry")
S3Params = model_registry.utils.S3Params
StoreError = model_registry.exceptions.StoreError
MissingMetadata = model_registry.exceptions.MissingMetadata

pytestmark = [pytest.mark.server, pytest.mark.filterwarnings("ignore:User access token")]

NESTED_TREE = {
    "model.onnx": 3000,
    "requirements.txt": 120,
    "golden/inputs.npy": 2048,
    "golden/outputs/probabilities.npy": 640,
    "golden/outputs/deep/er/est.bin": 1,
    ".hidden": 7,
}
METADATA = {"accuracy": 0.98, "epochs": 5}


@pytest.fixture
def target(
    s3_server: S3Settings,
    make_registry_server: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> UploadTarget:
    """The AWS_* variables pointing at SeaweedFS, a fresh registry and a fresh key prefix."""
    set_env(monkeypatch, s3_server.as_env())
    registry = make_registry_server()
    client = model_registry.ModelRegistry(
        "http://127.0.0.1", registry.port, author="trainer", is_secure=False
    )
    return UploadTarget(s3_server, registry.url, client, f"upstream-upload/{uuid.uuid4().hex}")


def upload_and_register(
    target: UploadTarget,
    path: Path,
    *,
    bucket: str | None = None,
    metadata: dict[str, Any] = METADATA,
    **s3_params: Any,
) -> Any:
    """The documented call: bucket and prefix in S3Params, everything else from AWS_*."""
    bucket_name = bucket or target.s3.bucket
    params = S3Params(bucket_name=bucket_name, s3_prefix=target.prefix, **s3_params)
    return target.client.upload_artifact_and_register_model(
        "MNIST",
        str(path),
        upload_params=params,
        version="v1",
        model_format_name="onnx",
        model_format_version="1",
        storage_key="aws-connection-models",
        storage_path=target.prefix,
        version_description="uploaded by the upstream client",
        metadata=metadata,
    )


def assert_registered(target: UploadTarget) -> Any:
    """MNIST/v1 is registered with the client-built URI; returns its artifact."""
    model = target.client.get_registered_model("MNIST")
    assert (model.name, model.owner) == ("MNIST", "trainer")
    registered = target.client.get_model_version("MNIST", "v1")
    assert (registered.author, registered.custom_properties) == ("trainer", METADATA)
    artifact = target.client.get_model_artifact("MNIST", "v1")
    assert artifact.uri == target.expected_uri()
    assert (artifact.model_format_name, artifact.model_format_version) == ("onnx", "1")
    assert (artifact.storage_key, artifact.storage_path) == ("aws-connection-models", target.prefix)
    assert [len(items) for items in target.registered().values()] == [1, 1, 1]
    return artifact


# ---- good input ----------------------------------------------------------------------------


def test_upload_single_file_with_env_settings(target: UploadTarget, tmp_path: Path) -> None:
    """A single file lands at `<prefix>/<file name>`; the URI names the prefix, not the file."""
    model = write_random_file(tmp_path / "model.onnx", 4321)
    registered = upload_and_register(target, model)
    assert (registered.name, registered.owner) == ("MNIST", "trainer")
    artifact = assert_registered(target)
    assert artifact.name == "MNIST"  # the client names the artifact after the model
    version = target.client.get_model_version("MNIST", "v1")
    assert version.description == "uploaded by the upstream client"
    assert target.stored() == local_files(model)
    assert set(target.stored()) == {"model.onnx"}
    assert files_at_uri(target.s3, artifact.uri) == local_files(model)


def test_upload_folder_with_explicit_s3_params(
    target: UploadTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Endpoint, keys and region in S3Params with no AWS_* set: same objects, same URI."""
    for name in target.s3.as_env():
        monkeypatch.delenv(name)
    folder = write_tree(tmp_path / "model", {"model.onnx": 5000, "requirements.txt": 80})
    upload_and_register(
        target,
        folder,
        endpoint_url=target.s3.endpoint,
        access_key_id=target.s3.access_key,
        secret_access_key=target.s3.secret_key,
        region=target.s3.region,
    )
    artifact = assert_registered(target)
    assert target.stored() == local_files(folder)
    assert set(target.stored()) == {"model.onnx", "requirements.txt"}
    assert files_at_uri(target.s3, artifact.uri) == local_files(folder)


def test_save_to_s3_nested_folders_then_register_model(
    target: UploadTarget, tmp_path: Path
) -> None:
    """The two-step flow: save_to_s3 keeps the folder structure (hidden files too, empty
    folders leave no trace) and returns the URI that register_model records."""
    folder = write_tree(tmp_path / "model", NESTED_TREE)
    (folder / "golden" / "empty").mkdir()
    uri = target.client.save_to_s3(str(folder), target.s3.bucket, f"{target.prefix}/")
    assert uri == target.expected_uri()
    assert target.stored() == local_files(folder)
    assert set(target.stored()) == set(NESTED_TREE)
    target.client.register_model(
        "MNIST", uri, version="v1", model_format_name="onnx", model_format_version="1",
        storage_key="aws-connection-models", storage_path=target.prefix, metadata=METADATA,
    )  # fmt: skip
    artifact = assert_registered(target)
    assert files_at_uri(target.s3, artifact.uri) == local_files(folder)


@pytest.mark.slow
def test_upload_large_file_in_multipart(target: UploadTarget, tmp_path: Path) -> None:
    """100 MiB and a bit, above the client's 1 MiB multipart threshold: boto3 sends it in
    5 MiB parts (S3's minimum; the client's 1 MiB `multipart_chunksize` is raised to it)."""
    model = write_random_file(tmp_path / "model.onnx", (100 << 20) + 12345, seed=14)
    started = time.perf_counter()
    upload_and_register(target, model)
    seconds = time.perf_counter() - started
    print(f"upload + register 100 MiB: {seconds:.2f} s, {100 / seconds:.1f} MiB/s")
    artifact = assert_registered(target)
    assert target.stored() == local_files(model)
    head = bucket_client(target.s3).head_object(
        Bucket=target.s3.bucket, Key=f"{target.prefix}/model.onnx"
    )
    assert head["ETag"] == multipart_etag(model)
    assert head["ETag"].endswith('-21"')
    assert files_at_uri(target.s3, artifact.uri) == local_files(model)


def test_utils_upload_to_s3_with_explicit_endpoint(target: UploadTarget, tmp_path: Path) -> None:
    """`utils.upload_to_s3` connects only where S3Params.endpoint_url says (it does not read
    AWS_S3_ENDPOINT for the connection, only for the URI it returns) and registers nothing."""
    folder = write_tree(tmp_path / "model", {"model.onnx": 100, "extra/notes.txt": 10})
    params = S3Params(
        bucket_name=target.s3.bucket, s3_prefix=target.prefix, endpoint_url=target.s3.endpoint
    )
    uri = model_registry.utils.upload_to_s3(params, str(folder))
    assert uri == target.expected_uri()
    assert target.stored() == local_files(folder)
    assert_nothing_registered(target.registry_url)


# ---- bad input -----------------------------------------------------------------------------


@pytest.fixture
def missing_bucket(s3_server: S3Settings) -> Iterator[str]:
    """A bucket name that does not exist; removed afterwards if an upload created it."""
    name = f"missing-{uuid.uuid4().hex[:12]}"
    yield name
    remove_bucket(bucket_client(s3_server), name)


@pytest.mark.parametrize(
    ("variable", "value", "code"),
    [
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret", "SignatureDoesNotMatch"),
        ("AWS_ACCESS_KEY_ID", "nobody", "InvalidAccessKeyId"),
    ],
    ids=["wrong-secret", "unknown-key"],
)
def test_upload_with_rejected_credentials_registers_nothing(
    target: UploadTarget,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    code: str,
) -> None:
    """boto3's S3UploadFailedError (not the StoreError save_to_s3's docstring promises) names
    the file, bucket/key and the server's code; the first PUT fails, so nothing is stored."""
    monkeypatch.setenv(variable, value)
    folder = write_tree(tmp_path / "model", {"model.onnx": 100, "sub/notes.txt": 10})
    with pytest.raises(S3UploadFailedError, match=code) as raised:
        upload_and_register(target, folder)
    first = "model.onnx"  # os.walk gives the top folder's files first
    named = f"{folder / first} to {target.s3.bucket}/{target.prefix}/{first}"
    assert named in str(raised.value)
    assert target.stored() == {}
    assert_nothing_registered(target.registry_url)


def test_upload_to_missing_bucket_registers_nothing(
    target: UploadTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, missing_bucket: str
) -> None:
    """On a real S3 server the first PUT gets NoSuchBucket: S3UploadFailedError naming the
    bucket, nothing registered. The client never checks that the bucket exists."""
    monkeypatch.setenv("AWS_S3_BUCKET", missing_bucket)
    model = write_random_file(tmp_path / "model.onnx", 100)
    with pytest.raises(S3UploadFailedError, match=f"{missing_bucket}.*NoSuchBucket"):
        upload_and_register(target, model, bucket=missing_bucket)
    assert_nothing_registered(target.registry_url)
    buckets = bucket_client(target.s3).list_buckets()["Buckets"]
    assert missing_bucket not in {bucket["Name"] for bucket in buckets}


def test_upload_to_unreachable_endpoint_registers_nothing(
    target: UploadTarget, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """botocore's EndpointConnectionError (raised as is, not wrapped) names the URL tried."""
    unreachable = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("AWS_S3_ENDPOINT", unreachable)
    model = write_random_file(tmp_path / "model.onnx", 100)
    url = f"{unreachable}/{target.s3.bucket}/{target.prefix}/model.onnx"
    with pytest.raises(EndpointConnectionError, match=re.escape(f'"{url}"')):
        upload_and_register(target, model)
    assert_nothing_registered(target.registry_url)


@pytest.mark.parametrize(
    ("variable", "named"),
    [
        ("AWS_S3_ENDPOINT", "`AWS_S3_ENDPOINT`"),
        ("AWS_SECRET_ACCESS_KEY", "`AWS_ACCESS_KEY_ID` or `AWS_SECRET_ACCESS_KEY`"),
    ],
    ids=["no-endpoint", "no-secret"],
)
def test_upload_without_s3_setting_registers_nothing(
    target: UploadTarget,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    named: str,
) -> None:
    """A ValueError naming the variables to set (a multi-line message with the source's
    indentation in it), before any connection."""
    monkeypatch.delenv(variable)
    model = write_random_file(tmp_path / "model.onnx", 100)
    with pytest.raises(ValueError, match=re.escape(named)):
        upload_and_register(target, model)
    assert target.stored() == {}
    assert_nothing_registered(target.registry_url)


@pytest.mark.parametrize("default_bucket", [None, "another-bucket"], ids=["unset", "other"])
def test_utils_upload_to_s3_needs_aws_s3_bucket_to_name_the_bucket(
    target: UploadTarget,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    default_bucket: str | None,
) -> None:
    """Upstream behaviour: `utils.upload_to_s3` builds its URI without the endpoint it was
    given, so unless AWS_S3_BUCKET equals `bucket_name` it raises MissingMetadata before any
    upload, even with `endpoint_url` set (save_to_s3 passes the endpoint and does not care)."""
    if default_bucket is None:
        monkeypatch.delenv("AWS_S3_BUCKET")
    else:
        monkeypatch.setenv("AWS_S3_BUCKET", default_bucket)
    model = write_random_file(tmp_path / "model.onnx", 100)
    params = S3Params(
        bucket_name=target.s3.bucket, s3_prefix=target.prefix, endpoint_url=target.s3.endpoint
    )
    with pytest.raises(MissingMetadata, match="endpoint must be provided for non-default bucket"):
        model_registry.utils.upload_to_s3(params, str(model))
    assert target.stored() == {}
    uri = target.client.save_to_s3(str(model), target.s3.bucket, target.prefix)
    assert uri == target.expected_uri()
    assert target.stored() == local_files(model)


def test_upload_missing_path_registers_nothing(target: UploadTarget, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    message = f"Path '{missing}' does not exist. Please ensure path is correct."
    with pytest.raises(ValueError, match=re.escape(message)):
        upload_and_register(target, missing)
    assert target.stored() == {}
    assert_nothing_registered(target.registry_url)


def test_upload_empty_folder_registers_uri_without_objects(
    target: UploadTarget, tmp_path: Path
) -> None:
    """Upstream behaviour, not ours: the client walks the folder, uploads nothing, raises
    nothing and registers MNIST/v1 with a URI below which the bucket holds no object. Nothing
    tells the user until something downloads from that URI."""
    folder = tmp_path / "model"
    (folder / "empty-subfolder").mkdir(parents=True)
    upload_and_register(target, folder)
    artifact = assert_registered(target)
    assert files_at_uri(target.s3, artifact.uri) == {}


def test_upload_existing_version_uploads_nothing(target: UploadTarget, tmp_path: Path) -> None:
    """The one-call flow looks the version up first: StoreError before any upload, the
    registry and the first upload unchanged."""
    first = write_random_file(tmp_path / "first" / "model.onnx", 100)
    upload_and_register(target, first)
    before = target.registered()
    again = replace(target, prefix=f"{target.prefix}-again")
    second = write_random_file(tmp_path / "second" / "model.onnx", 100, seed=2)
    message = "Model `MNIST:v1` already exists in Model Registry."
    with pytest.raises(StoreError, match=re.escape(message)):
        upload_and_register(again, second)
    assert target.registered() == before
    assert again.stored() == {}
    assert target.stored() == local_files(first)


def test_register_existing_version_after_save_to_s3_keeps_objects(
    target: UploadTarget, tmp_path: Path
) -> None:
    """Upstream behaviour: in the two-step flow save_to_s3 knows nothing of the registry, so
    its objects stay when register_model then refuses the existing version (StoreError);
    the registry is unchanged."""
    upload_and_register(target, write_random_file(tmp_path / "first" / "model.onnx", 100))
    before = target.registered()
    again = replace(target, prefix=f"{target.prefix}-again")
    second = write_random_file(tmp_path / "second" / "model.onnx", 100, seed=2)
    uri = target.client.save_to_s3(str(second), target.s3.bucket, again.prefix)
    with pytest.raises(StoreError, match=re.escape("Version v1 already exists")):
        target.client.register_model(
            "MNIST", uri, version="v1", model_format_name="onnx", model_format_version="1"
        )
    assert target.registered() == before
    assert again.stored() == local_files(second)


def test_upload_folder_with_unreadable_file_leaves_partial_objects(
    target: UploadTarget, tmp_path: Path
) -> None:
    """Upstream behaviour: files go up one by one in os.walk order and nothing is rolled back.
    A dangling symlink in a subfolder (walked after the top level) fails the upload with
    FileNotFoundError after model.onnx is stored: nothing registered, model.onnx left."""
    folder = write_tree(tmp_path / "model", {"model.onnx": 100})
    (folder / "sub").mkdir()
    (folder / "sub" / "weights.bin").symlink_to(tmp_path / "gone.bin")
    with pytest.raises(FileNotFoundError, match="weights.bin"):
        upload_and_register(target, folder)
    assert_nothing_registered(target.registry_url)
    assert target.stored() == local_files(folder / "model.onnx")


def test_upload_with_unsupported_metadata_leaves_model_and_objects(
    target: UploadTarget, tmp_path: Path
) -> None:
    """Upstream behaviour: the client uploads, creates the RegisteredModel, and only then
    builds the ModelVersion, whose pydantic validation rejects a list value. The objects and
    an empty RegisteredModel MNIST stay; no version, no artifact."""
    model = write_random_file(tmp_path / "model.onnx", 100)
    with pytest.raises(ValidationError, match="custom_properties.layers"):
        upload_and_register(target, model, metadata={"layers": [128, 10]})
    registered = target.registered()
    assert [item["name"] for item in registered["registered_models"]] == ["MNIST"]
    assert (registered["model_versions"], registered["artifacts"]) == ([], [])
    assert target.stored() == local_files(model)
