"""`contracts.s3`: the one way every part reaches the S3 server (path-style, short timeouts,
two retries), and nothing in the repository building a boto3 client any other way."""

from __future__ import annotations

from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError

from contracts.s3 import s3_client
from serving.artifacts import ArtifactStore, S3Config
from stack.proc import free_port
from stack.seaweed import S3Settings
from training.storage import StorageSettings

REPO = Path(__file__).resolve().parents[2]
SOURCES = ["app", "bench", "contracts", "pipelines", "registry_local", "serving", "stack",
           "tests", "training", "notebooks"]  # fmt: skip


def test_objects_are_addressed_by_path_not_by_bucket_host_name() -> None:
    client = s3_client(S3Settings(endpoint="http://localhost:9000"))
    params = {"Bucket": "models", "Key": "mnist/1/model.onnx"}
    url = client.generate_presigned_url("get_object", Params=params)
    assert url.startswith("http://localhost:9000/models/mnist/1/model.onnx?")


def test_the_client_signs_with_the_account_it_is_given() -> None:
    storage = StorageSettings(endpoint="http://s3.example:9000", access_key="AKIAEXAMPLE",
                              secret_key="secret", region="eu-west-3")  # fmt: skip
    client = s3_client(storage)
    assert client.meta.endpoint_url == "http://s3.example:9000"
    assert client.meta.region_name == "eu-west-3"
    url = client.generate_presigned_url("get_object", Params={"Bucket": "models", "Key": "k"})
    assert url.startswith("http://s3.example:9000/models/k?")
    assert "X-Amz-Credential=AKIAEXAMPLE%2F" in url  # signed with this key pair
    assert "%2Feu-west-3%2Fs3%2Faws4_request" in url  # for this region


def test_timeouts_and_attempts_are_bounded() -> None:
    config = s3_client(S3Settings(endpoint="http://localhost:9000")).meta.config
    assert (config.connect_timeout, config.read_timeout) == (3, 30)
    assert config.retries == {"total_max_attempts": 3, "mode": "standard"}


def test_the_inference_server_waits_its_own_s3_timeout() -> None:
    s3 = S3Config("http://localhost:9000", "a", "b", "us-east-1", frozenset({"models"}), timeout=2)
    config = ArtifactStore(s3).client().meta.config
    assert (config.connect_timeout, config.read_timeout) == (2, 2)


def test_a_server_that_is_not_there_is_an_error_not_a_hang() -> None:
    client = s3_client(S3Settings(endpoint=f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(EndpointConnectionError):
        client.head_bucket(Bucket="models")


def test_nothing_else_builds_a_boto3_client() -> None:
    here = Path(__file__).relative_to(REPO).as_posix()
    builders = [
        path.relative_to(REPO).as_posix()
        for folder in SOURCES
        for path in (REPO / folder).rglob("*")
        if path.suffix in {".py", ".ipynb"} and "boto3.client(" in path.read_text()
    ]
    assert set(builders) - {here} == {"contracts/s3.py"}
