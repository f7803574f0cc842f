"""Building modelcars without a container engine: the busybox base, olot's layers, references."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from training.modelcar import ModelcarError, OciSettings, build_modelcar, layout_size
from training.modelcar_base import BaseImageError, write_base_layout


def test_base_image_is_reproducible(tmp_path: Path) -> None:
    assert write_base_layout(tmp_path / "a") == write_base_layout(tmp_path / "b")


def test_base_image_has_the_shell_kserve_runs_in_a_modelcar(tmp_path: Path) -> None:
    digest = write_base_layout(tmp_path)
    manifest = json.loads(blob(tmp_path, digest))
    config = json.loads(blob(tmp_path, manifest["config"]["digest"]))
    assert config["os"] == "linux"
    assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"]) == 1
    with tarfile.open(tmp_path / "blobs" / "sha256" / manifest["layers"][0]["digest"][7:]) as tar:
        members = {member.name: member for member in tar}
    assert members["bin/busybox"].isfile()
    assert all(members[f"bin/{name}"].linkname == "busybox" for name in ("sh", "ln", "sleep"))


def test_base_image_without_busybox_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(BaseImageError, match="busybox-static package"):
        write_base_layout(tmp_path, busybox=tmp_path / "no-busybox")


def test_modelcar_puts_each_file_under_models(tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "model.onnx").write_bytes(b"m" * 1000)
    (files / "requirements.txt").write_text("numpy==2\n")
    build_modelcar(tmp_path / "layout", [files / "model.onnx", files / "requirements.txt"])
    index = json.loads((tmp_path / "layout" / "index.json").read_text())
    manifest = json.loads(blob(tmp_path / "layout", index["manifests"][0]["digest"]))
    paths = [layer.get("annotations", {}).get("olot.layer.content.inlayerpath")
             for layer in manifest["layers"]]  # fmt: skip
    assert paths == [None, "/models/model.onnx", "/models/requirements.txt"]
    assert layout_size(tmp_path / "layout") > 1000


def test_modelcar_files_must_share_a_directory(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "model.onnx").write_bytes(b"m")
    (tmp_path / "b" / "golden.npz").write_bytes(b"g")
    with pytest.raises(ModelcarError, match="one directory"):
        build_modelcar(tmp_path / "layout", [tmp_path / "a" / "model.onnx",
                                             tmp_path / "b" / "golden.npz"])  # fmt: skip


@pytest.mark.parametrize(
    ("registry", "plain_http"),
    [("localhost:5000", True), ("127.0.0.1:41234", True), ("[::1]:5000", True), ("[::1]", True),
     ("quay.io/acme", False), ("registry.example:5000", False), ("localhost.example:5000", False),
     ("[2001:db8::1]:5000", False)],
)  # fmt: skip
def test_oci_settings_use_plain_http_only_on_loopback(registry: str, plain_http: bool) -> None:
    assert OciSettings(registry).plain_http is plain_http


def test_oci_settings_name_images_model_and_version() -> None:
    assert OciSettings("localhost:5000").reference("MNIST", "v1.2") == "localhost:5000/mnist:v1.2"
    with pytest.raises(ModelcarError, match="cannot name an OCI image"):
        OciSettings("localhost:5000").reference("MNIST digits", "v1")
    with pytest.raises(ModelcarError, match="cannot name an OCI image"):
        OciSettings("localhost:5000").reference("MNIST", "v1/evil")


def test_oci_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCI_REGISTRY", "")
    assert OciSettings.from_env() is None
    monkeypatch.setenv("OCI_REGISTRY", "localhost:5000/")
    assert OciSettings.from_env() == OciSettings("localhost:5000")
    assert OciSettings.from_env("quay.io/acme") == OciSettings("quay.io/acme")


def blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_bytes()
