"""`python -m training.cleanup`: delete the bytes of ARCHIVED, unused versions, and only those.

Against real parts: registry_local, SeaweedFS and Debian's docker-registry (modelcars pushed
with olot and skopeo). S3 or the OCI registry being down is a stopped server of its own.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.s3 import s3_client
from mr_client import ModelArtifact, ModelVersion
from mr_client import decode_properties as plain_properties
from mr_client.urls import API
from stack.oci_registry import running_oci_registry
from stack.seaweed import S3Settings, running_seaweed
from training.cleanup import DELETED_AT, MANIFEST_TYPES, main, oci_parts, targets
from training.modelcar import ModelcarImage, OciSettings, publish_modelcar
from training.storage import StorageSettings

REPO = Path(__file__).resolve().parents[2]
FILES = ("model.onnx", "golden.npz", "requirements.txt")


def text(value: str) -> dict[str, str]:
    return {"metadataType": "MetadataStringValue", "string_value": value}


class Seeder:
    """Registers MNIST versions as publishing does: three S3 objects, an S3 artifact, and
    optionally a modelcar artifact."""

    def __init__(self, registry_url: str, s3: S3Settings) -> None:
        self.registry_url = registry_url
        self.http = httpx.Client(base_url=registry_url + API, timeout=10)
        self.storage = StorageSettings(s3.endpoint, s3.bucket, s3.access_key, s3.secret_key)
        self.model_id = self.post("/registered_models", {"name": "MNIST"})["id"]

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(path, json=body)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def version(self, name: str, state: str, modelcar: ModelcarImage | None = None) -> str:
        uris = {}
        for file in FILES:
            key = f"MNIST/{name}/{file}"
            s3_client(self.storage).put_object(Bucket=self.storage.bucket, Key=key, Body=b"x")
            uris[file] = f"s3://{self.storage.bucket}/{key}"
        props = {"golden_uri": text(uris["golden.npz"]),
                 "requirements_uri": text(uris["requirements.txt"])}  # fmt: skip
        version = self.post(f"/registered_models/{self.model_id}/versions",
                            {"name": name, "registeredModelId": self.model_id,
                             "customProperties": props})  # fmt: skip
        self.post(f"/model_versions/{version['id']}/artifacts", {"artifactType": "model-artifact",
                  "name": "MNIST", "uri": uris["model.onnx"]})  # fmt: skip
        if modelcar is not None:
            self.post(f"/model_versions/{version['id']}/artifacts", {
                "artifactType": "model-artifact", "name": "MNIST-modelcar", "uri": modelcar.uri,
                "customProperties": {"modelcar_digest": text(modelcar.digest)}})  # fmt: skip
        self.http.patch(f"/model_versions/{version['id']}", json={"state": state})
        return str(version["id"])

    def deploy(self, version_id: str, state: str = "UNDEPLOYED") -> None:
        environment = self.post("/serving_environments", {"name": "local"})
        self.post("/inference_services", {"name": "kept", "registeredModelId": self.model_id,
                  "modelVersionId": version_id, "servingEnvironmentId": environment["id"],
                  "runtime": "mmserver1", "desiredState": state})  # fmt: skip

    def marks(self, version_id: str) -> dict[str, str | None]:
        """artifact name → its bytes_deleted_at (None when unmarked)."""
        items = self.http.get(f"/model_versions/{version_id}/artifacts").json()["items"]
        return {a["name"]: plain_properties(a.get("customProperties")).get(DELETED_AT)
                for a in items}  # fmt: skip

    def objects(self, name: str) -> list[str]:
        listed = s3_client(self.storage).list_objects_v2(Bucket=self.storage.bucket,
                                                         Prefix=f"MNIST/{name}/")  # fmt: skip
        return sorted(item["Key"].rsplit("/", 1)[-1] for item in listed.get("Contents", []))


def manifest_status(modelcar: ModelcarImage) -> int:
    host, repository, _, _ = oci_parts(modelcar.uri)
    url = f"http://{host}/v2/{repository}/manifests/{modelcar.digest}"
    return httpx.get(url, headers={"Accept": MANIFEST_TYPES}).status_code


def clean(monkeypatch: pytest.MonkeyPatch, seeder: Seeder, s3: S3Settings, *args: str) -> int:
    for name, value in s3.as_env().items():
        monkeypatch.setenv(name, value)
    return main(["--registry-url", seeder.registry_url, *args])


@pytest.fixture
def seeder(registry_server: Any, s3_server: S3Settings) -> Seeder:
    return Seeder(registry_server.url, s3_server)


def modelcar_in(address: str, tmp_path: Path, tag: str) -> ModelcarImage:
    file = tmp_path / "model.onnx"
    file.write_bytes(b"model bytes " + tag.encode())
    return publish_modelcar([file], OciSettings(address), "mnist", tag)


pytestmark = pytest.mark.server


def test_dry_run_lists_archived_unused_versions_and_deletes_nothing(
    seeder: Seeder, s3_server: S3Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    archived = seeder.version("v1", "ARCHIVED")
    seeder.version("v2", "LIVE")
    assert clean(monkeypatch, seeder, s3_server) == 0
    out = capsys.readouterr().out
    assert "would delete MNIST v1 artifact MNIST: s3://models/MNIST/v1/model.onnx" in out
    assert "v2" not in out
    assert "dry run: nothing deleted" in out
    assert seeder.objects("v1") == sorted(FILES)
    assert seeder.marks(archived) == {"MNIST": None}


def test_yes_deletes_s3_objects_and_the_modelcar_then_marks_and_a_rerun_does_nothing(
    seeder: Seeder, s3_server: S3Settings, oci_registry: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    car = modelcar_in(oci_registry.address, tmp_path, "v1")
    live_car = modelcar_in(oci_registry.address, tmp_path, "v2")
    archived = seeder.version("v1", "ARCHIVED", car)
    live = seeder.version("v2", "LIVE", live_car)
    used = seeder.version("v3", "ARCHIVED")
    seeder.deploy(used)  # UNDEPLOYED, but it still names v3: kept
    assert clean(monkeypatch, seeder, s3_server, "--yes") == 0
    out = capsys.readouterr().out
    assert "kept MNIST v3: an InferenceService names it" in out
    assert seeder.objects("v1") == []
    assert manifest_status(car) == 404
    marks = seeder.marks(archived)
    assert all(marks.values())
    assert marks["MNIST"].endswith("Z")
    assert seeder.objects("v2") == seeder.objects("v3") == sorted(FILES)
    assert manifest_status(live_car) == 200
    assert not any(seeder.marks(live).values())
    assert not any(seeder.marks(used).values())
    assert clean(monkeypatch, seeder, s3_server, "--yes") == 0
    assert "nothing to delete" in capsys.readouterr().out
    assert seeder.marks(archived) == marks  # the first run's time, not overwritten


def test_s3_down_leaves_the_s3_artifact_unmarked(
    registry_server: Any, oci_registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    car = modelcar_in(oci_registry.address, tmp_path, "v9")
    with running_seaweed(tmp_path / "seaweed") as weed:
        s3 = S3Settings(endpoint=weed.url)
        seeder = Seeder(registry_server.url, s3)
        archived = seeder.version("v9", "ARCHIVED", car)
    assert clean(monkeypatch, seeder, s3, "--yes") == 1  # SeaweedFS is stopped now
    out = capsys.readouterr().out
    assert "FAILED MNIST v9 artifact MNIST, not marked deleted: Cannot reach the S3" in out
    marks = seeder.marks(archived)
    assert marks["MNIST"] is None
    assert marks["MNIST-modelcar"]  # its bytes are gone: that artifact is marked
    assert manifest_status(car) == 404


def test_oci_registry_down_leaves_the_modelcar_artifact_unmarked(
    seeder: Seeder, s3_server: S3Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with running_oci_registry(tmp_path / "oci") as registry:
        car = modelcar_in(registry.address, tmp_path, "v8")
        archived = seeder.version("v8", "ARCHIVED", car)
    assert clean(monkeypatch, seeder, s3_server, "--yes") == 1
    out = capsys.readouterr().out
    assert "FAILED MNIST v8 artifact MNIST-modelcar, not marked deleted: the OCI registry" in out
    marks = seeder.marks(archived)
    assert marks["MNIST-modelcar"] is None
    assert marks["MNIST"]
    assert seeder.objects("v8") == []


def test_cli_without_a_registry_says_so_and_exits_2(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "training.cleanup", "--registry-url", "http://127.0.0.1:9"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "could not be read or written" in result.stderr


@pytest.mark.parametrize(
    ("reference", "parts"),
    [("oci://127.0.0.1:5000/mnist:v1", ("127.0.0.1:5000", "mnist", "v1", None)),
     ("oci://localhost:5000/acme/mnist:v1@sha256:ab", ("localhost:5000", "acme/mnist", "v1",
                                                       "sha256:ab")),
     ("oci://[::1]:5000/mnist@sha256:ab", ("[::1]:5000", "mnist", None, "sha256:ab"))],
)  # fmt: skip
def test_oci_parts_split_a_modelcar_reference(reference: str, parts: tuple[Any, ...]) -> None:
    assert oci_parts(reference) == parts


def test_targets_of_an_artifact_elsewhere_are_none() -> None:
    version = ModelVersion.from_wire({"id": "3", "customProperties": "broken"})
    web = ModelArtifact(id="1", name="m", uri="https://example.com/model.onnx")
    assert targets(web, version) == ()
    s3 = ModelArtifact(id="2", name="m", uri="s3://models/a")
    assert targets(s3, version) == ("s3://models/a",)
