"""Pulling modelcars from the real OCI registry: every blob verified, every bad image refused."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile_registry import HostileRegistry, running_hostile_registry

from serving.artifacts import ReferenceRefused
from serving.errors import ArtifactUnavailable, LoadRefused
from serving.oci import OciConfig, OciLocation, OciPuller
from stack.proc import ServiceProcess, free_port
from training.modelcar import ModelcarImage, OciSettings, skopeo_copy
from training.modelcar_base import write_base_layout

pytestmark = pytest.mark.server

FILES = {"model.onnx": b"onnx bytes", "golden.npz": b"golden", "requirements.txt": b"numpy==2\n"}
OTHER_DIGEST = "sha256:" + "0" * 64


@pytest.fixture
def puller(oci_registry: ServiceProcess) -> OciPuller:
    return OciPuller(OciConfig(frozenset({oci_registry.address}), timeout=2.0))


def test_pull_returns_the_models_files_verified_by_digest(
    push_modelcar: Callable[..., ModelcarImage], puller: OciPuller
) -> None:
    image = push_modelcar(FILES, "pull-ok", "v1")
    modelcar = puller.pull(image.uri, image.digest)
    assert modelcar.files == FILES
    assert modelcar.digest == image.digest
    assert modelcar.pulled_bytes == image.size_bytes


def test_pull_by_digest_in_the_uri_and_by_tag_alone(
    push_modelcar: Callable[..., ModelcarImage], puller: OciPuller
) -> None:
    image = push_modelcar(FILES, "pull-forms", "v1")
    assert puller.pull(f"oci://{image.pinned_reference}").digest == image.digest
    assert puller.pull(image.uri).digest == image.digest


def test_pull_refuses_a_tag_moved_after_registration(
    push_modelcar: Callable[..., ModelcarImage], puller: OciPuller
) -> None:
    first = push_modelcar(FILES, "moved", "v1")
    second = push_modelcar({**FILES, "model.onnx": b"other model"}, "moved", "v1")
    with pytest.raises(LoadRefused, match=f"tag moved: .* now points at {second.digest}"):
        puller.pull(first.uri, first.digest)


def test_pull_refuses_a_digest_the_registry_does_not_have(
    push_modelcar: Callable[..., ModelcarImage], puller: OciPuller
) -> None:
    image = push_modelcar(FILES, "wrong-digest", "v1")
    with pytest.raises(LoadRefused, match="manifest of .* not found in the registry"):
        puller.pull(f"oci://{image.pinned_reference.split('@')[0]}@{OTHER_DIGEST}")
    with pytest.raises(LoadRefused, match="names digest .* the registry records"):
        puller.pull(f"oci://{image.pinned_reference}", OTHER_DIGEST)


def test_pull_refuses_an_image_without_models(
    oci_registry: ServiceProcess, puller: OciPuller, tmp_path: Path
) -> None:
    layout = tmp_path / "busybox-only"
    write_base_layout(layout)
    reference = f"{oci_registry.address}/plain-busybox:latest"
    digest = skopeo_copy(layout, reference, OciSettings(oci_registry.address))
    with pytest.raises(LoadRefused, match="is not a modelcar: no files under /models/"):
        puller.pull(f"oci://{reference}", digest)


def test_pull_refuses_a_layer_whose_stored_bytes_were_changed(
    oci_registry: ServiceProcess,
    push_modelcar: Callable[..., ModelcarImage],
    puller: OciPuller,
) -> None:
    """The registry serves what its disk holds: a model layer changed there (same length)
    is caught by the client's digest check, not served."""
    image = push_modelcar(FILES, "tampered", "v1")
    layer = manifest_of(oci_registry, image)["layers"][1]["digest"].removeprefix("sha256:")
    data = blob_file(oci_registry, layer)
    data.write_bytes(data.read_bytes().replace(b"onnx bytes", b"evil bytes"))
    with pytest.raises(LoadRefused, match=f"digest mismatch in .*layer should be sha256:{layer}"):
        puller.pull(image.uri, image.digest)


def test_pull_refuses_a_layer_shorter_than_its_manifest_says(
    oci_registry: ServiceProcess, puller: OciPuller
) -> None:
    layer = push_blob(oci_registry, "short", b"real layer")
    manifest = image_manifest(oci_registry, "short", layer_digest=layer, layer_size=11)
    digest = put_manifest(oci_registry, "short", "v1", manifest)
    with pytest.raises(LoadRefused, match="has 10 bytes, the manifest says 11"):
        puller.pull(f"oci://{oci_registry.address}/short:v1", digest)


def test_pull_refuses_a_gzip_bomb_once_it_passes_the_limit(
    oci_registry: ServiceProcess,
) -> None:
    """64 MiB of zeros in a 64 KiB gzip layer, stored by the real registry: decompression
    stops at the puller's 4 MiB limit instead of filling memory."""
    tar = tar_of({"models/model.onnx": b"\0" * (64 << 20)})
    layer = gzip.compress(tar, compresslevel=9)
    layer_digest = push_blob(oci_registry, "bomb", layer)
    manifest = image_manifest(oci_registry, "bomb", layer_digest, len(layer),
                              diff_id=sha256_digest(tar), gzipped=True)  # fmt: skip
    digest = put_manifest(oci_registry, "bomb", "v1", manifest)
    puller = OciPuller(OciConfig(frozenset({oci_registry.address}), max_bytes=4 << 20))
    with pytest.raises(LoadRefused, match="a layer decompresses to more than the .* bytes left"):
        puller.pull(f"oci://{oci_registry.address}/bomb:v1", digest)


@pytest.fixture
def hostile() -> Iterator[HostileRegistry]:
    with running_hostile_registry() as registry:
        registry.image("honest", tar_of({"models/model.onnx": b"m" * 100}))
        for misbehaving in ("endless-blob", "drip"):
            registry.manifests[misbehaving] = registry.manifests["honest"]
        yield registry


@pytest.mark.parametrize(
    ("repository", "refusal", "reason"),
    [
        ("endless-manifest", LoadRefused, "the registry sent more than 4194304 bytes for manif"),
        ("endless-blob", LoadRefused, "the registry sent more than 10240 bytes for blobs/sha256"),
        ("endless-error", LoadRefused, r"manifest of .* not found in the registry \(HTTP 404\)"),
        ("drip", ArtifactUnavailable, "too slow: pulling .* took over 1 s"),
        ("redirect-loop", LoadRefused, "redirected manifests/v1 more than 5 times"),
        (
            "redirect-away",
            LoadRefused,
            "redirected a pull to 'localhost:[0-9]+' over http, which is not allowed",
        ),
        ("echo-error", LoadRefused, r"refused an anonymous pull of .* \(HTTP 401\)$"),
    ],
)
def test_pull_from_a_hostile_registry_stops_within_its_bounds(
    hostile: HostileRegistry, repository: str, refusal: type[Exception], reason: str
) -> None:
    assert pull_from(hostile, "honest", pull_timeout=30).files == {"model.onnx": b"m" * 100}
    with pytest.raises(refusal, match=reason):
        pull_from(hostile, repository, pull_timeout=1)


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ([1, 2], "the manifest is not a JSON object"),
        ({"schemaVersion": 2, "config": "nope", "layers": []}, "config has no sha256 digest"),
        ({"schemaVersion": 2, "config": {"digest": OTHER_DIGEST, "size": "big"}},
         "config sha256:0+ has no size$"),
        ({"schemaVersion": 2, "config": {"digest": OTHER_DIGEST, "size": 1 << 40}},
         "is over the limit of .* bytes \\(config sha256:0+ has 1099511627776\\)"),
        ({"schemaVersion": 2, "config": {"digest": OTHER_DIGEST, "size": 2}, "layers": "x"},
         "the manifest's layers are not a list"),
    ],
)  # fmt: skip
def test_pull_refuses_a_malformed_manifest_with_its_reason(
    hostile: HostileRegistry, manifest: Any, reason: str
) -> None:
    hostile.serve("malformed", manifest)
    with pytest.raises(LoadRefused, match=reason):
        pull_from(hostile, "malformed")


def test_pull_follows_a_redirect_only_to_an_allowed_host(hostile: HostileRegistry) -> None:
    """Refused by default (above); with the other host allowed the same pull succeeds."""
    port = hostile.address.rsplit(":", 1)[1]
    modelcar = pull_from(hostile, "redirect-away", redirect_hosts=frozenset({f"localhost:{port}"}))
    assert modelcar.files == {"model.onnx": b"m" * 100}


def test_pull_never_copies_the_registrys_error_text(hostile: HostileRegistry) -> None:
    """A GET (pull by digest: no HEAD of a tag) whose 401 body echoes a credential."""
    puller = OciPuller(OciConfig(frozenset({hostile.address}), timeout=2.0))
    with pytest.raises(LoadRefused) as refused:
        puller.pull(f"oci://{hostile.address}/echo-error@{OTHER_DIGEST}")
    puller.close()
    assert "s3cr3t" not in refused.value.message
    assert "UNAUTHORIZED" in refused.value.message


def pull_from(
    registry: HostileRegistry, repository: str, pull_timeout: float = 30,
    redirect_hosts: frozenset[str] = frozenset(),
) -> Any:  # fmt: skip
    config = OciConfig(frozenset({registry.address}), timeout=2.0, pull_timeout=pull_timeout,
                       redirect_hosts=redirect_hosts)  # fmt: skip
    puller = OciPuller(config)
    try:
        return puller.pull(f"oci://{registry.address}/{repository}:v1")
    finally:
        puller.close()


def test_pull_from_an_unreachable_registry_is_unavailable() -> None:
    address = f"127.0.0.1:{free_port()}"
    puller = OciPuller(OciConfig(frozenset({address}), timeout=1.0))
    with pytest.raises(ArtifactUnavailable, match=f"OCI registry {address} unreachable"):
        puller.pull(f"oci://{address}/mnist:v1", OTHER_DIGEST)


@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        ("s3://models/x", "not an image reference"),
        ("oci://localhost:5000/mnist", "names no tag or digest"),
        ("oci://evil.example:5000/mnist:v1", "registry 'evil.example:5000' is not allowed"),
        ("oci://localhost:5000/../etc:v1", "not an image reference"),
        ("oci://localhost:5000/MNIST:v1", "not an image reference"),
        ("oci://localhost:5000/mnist:v1@sha256:abc", "not an image reference"),
    ],
)
def test_location_refuses_bad_references(uri: str, reason: str) -> None:
    with pytest.raises(ReferenceRefused, match=reason):
        OciLocation.parse(uri, frozenset({"localhost:5000"}))


def test_location_in_an_allowed_namespace_path_only() -> None:
    """OCI_REGISTRY may carry a namespace (`quay.io/acme`): images under it are allowed."""
    allowed = frozenset({"quay.io/acme", "localhost:5000/"})
    assert OciLocation.parse("oci://quay.io/acme/mnist:v1", allowed).repository == "acme/mnist"
    assert OciLocation.parse("oci://localhost:5000/mnist:v1", allowed).registry == "localhost:5000"
    for outside in ("oci://quay.io/acme-x/mnist:v1", "oci://quay.io/mnist:v1",
                    "oci://localhost:50/mnist:v1"):  # fmt: skip
        with pytest.raises(ReferenceRefused, match="is not allowed"):
            OciLocation.parse(outside, allowed)


def test_location_speaks_plain_http_only_on_loopback() -> None:
    allowed = frozenset({"localhost:5000", "127.0.0.1:5000", "quay.io", "localhost.example"})
    assert OciLocation.parse("oci://localhost:5000/m:v1", allowed).base_url.startswith("http:")
    assert OciLocation.parse("oci://127.0.0.1:5000/m:v1", allowed).base_url.startswith("http:")
    assert OciLocation.parse("oci://quay.io/a/m:v1", allowed).base_url.startswith("https:")
    loose = OciLocation.parse("oci://localhost.example/m:v1", allowed)
    assert loose.base_url.startswith("https:")


def test_location_takes_a_bracketed_ipv6_registry() -> None:
    """`[::1]:5000` is loopback (plain HTTP); another IPv6 address is spoken to over HTTPS."""
    allowed = frozenset({"[::1]:5000", "[2001:db8::1]"})
    local = OciLocation.parse("oci://[::1]:5000/mnist:v1", allowed)
    assert (local.registry, local.base_url) == ("[::1]:5000", "http://[::1]:5000/v2/mnist")
    remote = OciLocation.parse("oci://[2001:db8::1]/mnist:v1", allowed)
    assert remote.base_url == "https://[2001:db8::1]/v2/mnist"
    with pytest.raises(ReferenceRefused, match="not an image reference"):
        OciLocation.parse("oci://[::1/mnist:v1", allowed)


def manifest_of(registry: ServiceProcess, image: ModelcarImage) -> dict[str, Any]:
    repository = image.reference.split("/", 1)[1].rsplit(":", 1)[0]
    url = f"{registry.url}/v2/{repository}/manifests/{image.digest}"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    return dict(httpx.get(url, headers=accept).json())


def blob_file(registry: ServiceProcess, hex_digest: str) -> Path:
    storage = Path(registry.command[-1]).parent / "storage"
    blobs = storage / "docker" / "registry" / "v2" / "blobs" / "sha256"
    return blobs / hex_digest[:2] / hex_digest / "data"


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def push_blob(registry: ServiceProcess, repository: str, data: bytes) -> str:
    digest = sha256_digest(data)
    started = httpx.post(f"{registry.url}/v2/{repository}/blobs/uploads/")
    location = started.headers["Location"]
    location = location if location.startswith("http") else f"{registry.url}{location}"
    done = httpx.put(httpx.URL(location).copy_add_param("digest", digest), content=data,
                     headers={"Content-Type": "application/octet-stream"})  # fmt: skip
    assert done.status_code == 201, done.text
    return digest


def image_manifest(
    registry: ServiceProcess, repository: str, layer_digest: str, layer_size: int,
    diff_id: str | None = None, gzipped: bool = False,
) -> bytes:  # fmt: skip
    rootfs = {"type": "layers", "diff_ids": [diff_id or layer_digest]}
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": rootfs}).encode()
    config_digest = push_blob(registry, repository, config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar" + "+gzip" * gzipped,
                    "digest": layer_digest, "size": layer_size}],
    }  # fmt: skip
    return json.dumps(manifest).encode()


def put_manifest(registry: ServiceProcess, repository: str, tag: str, body: bytes) -> str:
    media_type = "application/vnd.oci.image.manifest.v1+json"
    response = httpx.put(f"{registry.url}/v2/{repository}/manifests/{tag}", content=body,
                         headers={"Content-Type": media_type})  # fmt: skip
    assert response.status_code == 201, response.text
    return str(response.headers["Docker-Content-Digest"])
