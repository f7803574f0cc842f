"""The upstream client's own OCI path against this stack: `save_to_oci_registry` and
`upload_artifact_and_register_model(upload_params=OCIParams(...))`, unmodified, with skopeo.

The base image is ours (busybox, pushed to the local registry first: nothing can be pulled
from Docker Hub here). The local registry speaks plain HTTP; upstream's default skopeo
backend passes skopeo no TLS flag, so skopeo needs to be told the registry is insecure:
either by a registries.conf (containers-registries.conf(5), read from
`$HOME/.config/containers/`) or by a custom backend built from olot's own skopeo calls.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest

from serving.oci import OciConfig, OciPuller
from stack.proc import ServiceProcess
from training.modelcar import OciSettings, push_base_image

pytestmark = pytest.mark.server

MODEL = b"an onnx model's bytes"


@pytest.fixture(scope="module")
def base_image(oci_registry: ServiceProcess) -> str:
    return push_base_image(OciSettings(oci_registry.address))


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(MODEL)
    return folder


@pytest.fixture
def insecure_registries_conf(
    oci_registry: ServiceProcess, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """A registries.conf marking the loopback registry insecure, where skopeo looks for it."""
    home = tmp_path / "home"
    conf = home / ".config" / "containers" / "registries.conf"
    conf.parent.mkdir(parents=True)
    conf.write_text(f'[[registry]]\nlocation = "{oci_registry.address}"\ninsecure = true\n')
    monkeypatch.setenv("HOME", str(home))
    return conf


def insecure_skopeo_backend() -> Any:
    """Upstream's BackendDefinition over olot's skopeo calls, with TLS verification off."""
    from model_registry.utils import BackendDefinition
    from olot.backend.skopeo import is_skopeo, skopeo_pull, skopeo_push

    return BackendDefinition(
        is_available=is_skopeo,
        pull=lambda base, dest, **_: skopeo_pull(base, dest, ["--src-tls-verify=false"]),
        push=lambda src, ref, **_: skopeo_push(src, ref, ["--dest-tls-verify=false"]),
    )


def upstream_client(url: str) -> Any:
    from model_registry import ModelRegistry

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="User access token is missing")
        return ModelRegistry(url, author="pytest", is_secure=False)


def pulled_model(registry: ServiceProcess, uri: str) -> bytes | None:
    puller = OciPuller(OciConfig(frozenset({registry.address})))
    return puller.pull(uri).file("model.onnx")


def test_save_to_oci_registry_with_the_default_backend_fails_on_plain_http(
    oci_registry: ServiceProcess, base_image: str, model_dir: Path
) -> None:
    from model_registry.utils import save_to_oci_registry

    with pytest.raises(RuntimeError, match="Problem with command"):
        save_to_oci_registry(base_image, f"{oci_registry.address}/upstream:plain", model_dir)


@pytest.mark.usefixtures("insecure_registries_conf")
def test_save_to_oci_registry_default_backend_with_registries_conf(
    oci_registry: ServiceProcess, base_image: str, model_dir: Path
) -> None:
    from model_registry.utils import save_to_oci_registry

    uri = save_to_oci_registry(base_image, f"{oci_registry.address}/upstream:conf", model_dir)
    assert uri == f"oci://{oci_registry.address}/upstream:conf"
    assert pulled_model(oci_registry, uri) == MODEL


def test_upload_and_register_with_oci_params_and_a_custom_backend(
    oci_registry: ServiceProcess, base_image: str, model_dir: Path, registry_server: Any
) -> None:
    from model_registry.utils import OCIParams

    client = upstream_client(registry_server.url)
    params = OCIParams(base_image=base_image, oci_ref=f"{oci_registry.address}/upstream:v1",
                       custom_oci_backend=insecure_skopeo_backend())  # fmt: skip
    client.upload_artifact_and_register_model(
        "Upstream", str(model_dir), upload_params=params, version="v1",
        model_format_name="onnx", model_format_version="1",
    )  # fmt: skip
    artifact = client.get_model_artifact("Upstream", "v1")
    assert artifact.uri == f"oci://{oci_registry.address}/upstream:v1"
    assert pulled_model(oci_registry, artifact.uri) == MODEL
