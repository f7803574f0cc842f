"""`python -m pipelines.run` end to end: kfp.local against a real registry and SeaweedFS."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.s3 import s3_client
from stack.proc import ServiceProcess
from stack.seaweed import S3Settings

pytestmark = [pytest.mark.slow, pytest.mark.server]

REPO = Path(__file__).resolve().parents[2]
API = "/api/model_registry/v1alpha3"


def run_pipeline(
    tmp_path: Path, s3: S3Settings, registry_url: str, oci_registry: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **s3.as_env(), "MODEL_REGISTRY_URL": registry_url,
           "OCI_REGISTRY": oci_registry, "STATE_DIR": str(tmp_path / "state")}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "pipelines.run", "--epochs", "1", *args],
        env=env, cwd=REPO, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def bucket_keys(s3: S3Settings) -> set[str]:
    listing = s3_client(s3).list_objects_v2(Bucket=s3.bucket)
    return {item["Key"] for item in listing.get("Contents", [])}


def plain(properties: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """customProperties as name -> value (whatever the value's metadataType)."""
    return {name: next(v for k, v in value.items() if k != "metadataType")
            for name, value in properties.items()}  # fmt: skip


def oci_tags(oci: ServiceProcess, repository: str) -> list[str]:
    """The tags of `repository` in the OCI registry ([] when it has none)."""
    answer = httpx.get(f"{oci.url}/v2/{repository}/tags/list")
    return list(answer.json().get("tags") or []) if answer.status_code == 200 else []


def manifest_digest(oci: ServiceProcess, repository: str, tag: str) -> str:
    accept = "application/vnd.oci.image.manifest.v1+json"
    answer = httpx.head(f"{oci.url}/v2/{repository}/manifests/{tag}", headers={"Accept": accept})
    answer.raise_for_status()
    return answer.headers["Docker-Content-Digest"]


def only_version(registry_url: str, model_name: str) -> dict[str, Any]:
    model = httpx.get(f"{registry_url}{API}/registered_model", params={"name": model_name})
    model.raise_for_status()
    versions = httpx.get(f"{registry_url}{API}/registered_models/{model.json()['id']}/versions")
    items = versions.json()["items"]
    assert len(items) == 1, items
    return dict(items[0])


def test_run_pipeline_registers_version_with_lineage(
    tmp_path: Path, s3_server: S3Settings, registry_server: Any, oci_registry: ServiceProcess
) -> None:
    options = ("--min-accuracy", "0.5", "--model-name", "MNIST-pipeline-test")
    result = run_pipeline(tmp_path, s3_server, registry_server.url, oci_registry.address, *options)
    assert result.returncode == 0, result.stdout + result.stderr
    for step in ("train", "validate", "publish"):
        assert f"  {step:<15} SUCCEEDED in" in result.stdout
    assert "REGISTERED: MNIST-pipeline-test version v1" in result.stdout

    version = only_version(registry_server.url, "MNIST-pipeline-test")
    properties = plain(version["customProperties"])
    assert version["name"] == "v1"
    assert properties["pipeline_name"] == "mnist-train-validate-register"
    assert f"pipeline run {properties['pipeline_run_id']} " in result.stdout
    assert properties["pipeline_run_name"].startswith("mnist-train-validate-register-")
    assert json.loads(properties["training_params"])["epochs"] == 1
    assert properties["model_kind"] == "dense"
    assert properties["validation_min_accuracy"] == 0.5
    assert 0.5 <= properties["validation_accuracy"] <= 1.0

    artifacts = httpx.get(f"{registry_server.url}{API}/model_versions/{version['id']}/artifacts")
    artifact, modelcar = artifacts.json()["items"]
    assert artifact["uri"] == f"s3://{s3_server.bucket}/MNIST-pipeline-test/v1/model.onnx"
    assert artifact["modelSourceKind"] == "kfp"
    assert artifact["modelSourceId"] == properties["pipeline_run_id"]
    stored = s3_client(s3_server).get_object(Bucket=s3_server.bucket,
                                             Key="MNIST-pipeline-test/v1/model.onnx")  # fmt: skip
    assert hashlib.sha256(stored["Body"].read()).hexdigest() == properties["sha256"]
    assert "MNIST-pipeline-test/v1/golden.npz" in bucket_keys(s3_server)
    assert_modelcar_registered(oci_registry, modelcar, properties)


def assert_modelcar_registered(
    oci: ServiceProcess, artifact: dict[str, Any], properties: dict[str, Any]
) -> None:
    """The publish step pushed the version's modelcar and recorded it as a second artifact."""
    assert artifact["uri"] == f"oci://{oci.address}/mnist-pipeline-test:v1"
    assert (artifact["name"], artifact["modelFormatName"]) == (
        "MNIST-pipeline-test-modelcar",
        "onnx",
    )
    digest = manifest_digest(oci, "mnist-pipeline-test", "v1")
    assert plain(artifact["customProperties"])["modelcar_digest"] == digest
    assert plain(artifact["customProperties"])["sha256"] == properties["sha256"]
    assert (properties["modelcar_uri"], properties["modelcar_digest"]) == (artifact["uri"], digest)


def test_run_pipeline_below_threshold_registers_nothing(
    tmp_path: Path, s3_server: S3Settings, registry_server: Any, oci_registry: ServiceProcess
) -> None:
    keys_before, tags_before = bucket_keys(s3_server), oci_tags(oci_registry, "mnist")
    result = run_pipeline(tmp_path, s3_server, registry_server.url, oci_registry.address,
                          "--min-accuracy", "0.999")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "NOT REGISTERED: test accuracy" in result.stdout
    assert "below the minimum 0.9990" in result.stdout
    assert "  not-registered  SUCCEEDED in" in result.stdout
    assert "publish" not in result.stdout
    models = httpx.get(f"{registry_server.url}{API}/registered_models").json()
    assert models["items"] == []
    assert bucket_keys(s3_server) == keys_before
    assert oci_tags(oci_registry, "mnist") == tags_before
