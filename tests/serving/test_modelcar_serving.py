"""Serving from oci:// modelcars over real processes: the controller resolves the version's
modelcar artifact, the server pulls it by digest from the real OCI registry and verifies it;
every bad image is refused with its reason on a ServeModel while the last good one serves."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import pytest
from stack_calls import AUTH, create_service, infer, patch_service, serve_records, served_version

from stack.proc import ServiceProcess, free_port
from training.modelcar import ModelcarImage

pytestmark = pytest.mark.server

Push = Callable[..., ModelcarImage]


@pytest.fixture
def oci_stack(make_stack: Callable[..., Any], oci_registry: ServiceProcess) -> Any:
    """Registry + server + controller allowed to pull from the session's OCI registry and
    from a second, allowed registry address where nothing listens."""
    unreachable = f"127.0.0.1:{free_port()}"
    stack = make_stack({"OCI_REGISTRY": oci_registry.address,
                        "SERVING_ALLOWED_OCI_REGISTRIES": unreachable})  # fmt: skip
    stack.unreachable = unreachable
    return stack


@pytest.fixture
def publisher(make_publisher: Callable[[Any], Any], oci_stack: Any) -> Any:
    """Registers versions into the oci_stack's registry (overrides the serving_stack one)."""
    return make_publisher(oci_stack)


@pytest.fixture
def good_files(trained_model_bytes: bytes, mnist_digits: Any, make_golden: Any) -> dict[str, bytes]:
    images = mnist_digits[0][:32]
    return {"model.onnx": trained_model_bytes, "golden.npz": make_golden(trained_model_bytes,
                                                                         images)}  # fmt: skip


def register_modelcar(
    publisher: Any, version: str, uri: str, digest: str | None, sha256: str | None
) -> str:
    """A version whose ModelArtifact is a modelcar, recorded as training records one."""
    properties = {"modelcar_digest": digest, "sha256": sha256}
    custom = {name: {"metadataType": "MetadataStringValue", "string_value": value}
              for name, value in properties.items() if value}  # fmt: skip
    body = {"name": version, "registeredModelId": publisher.registered_model("MNIST")}
    version_id = str(publisher.post("/model_versions", body)["id"])
    artifact = {"artifactType": "model-artifact", "name": f"MNIST-{version}-modelcar",
                "uri": uri, "modelFormatName": "onnx", "modelFormatVersion": "1",
                "customProperties": custom}  # fmt: skip
    publisher.post(f"/model_versions/{version_id}/artifacts", artifact)
    return version_id


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_controller_serves_a_modelcar_pulled_by_digest(
    oci_stack: Any, publisher: Any, push_modelcar: Push, good_files: dict[str, bytes],
    wait_until: Callable[..., Any],
) -> None:  # fmt: skip
    image = push_modelcar(good_files, "served", "v1")
    version = register_modelcar(publisher, "v1", image.uri, image.digest,
                                sha256_of(good_files["model.onnx"]))  # fmt: skip
    create_service(oci_stack, "digits", publisher.models["MNIST"], modelVersionId=version)
    assert wait_until(lambda: served_version(oci_stack, "digits"), timeout=30) == version
    metadata = httpx.get(f"{oci_stack.serving_url}/v2/models/digits").json()
    assert metadata["properties"]["modelcar_digest"] == image.digest
    assert metadata["properties"]["artifact_uri"] == image.uri
    assert infer(oci_stack, "digits").status_code == 200
    print_load_time(oci_stack, image, sha256_of(good_files["model.onnx"]))


def print_load_time(stack: Any, image: ModelcarImage, sha256: str) -> None:
    """Prints (run with -s) how long a load from the modelcar takes: pull, verify every blob
    and the ONNX sha256, parse, golden file, warm-up. The figure in docs/oci.md; no assertion."""
    url = f"{stack.serving_url}/v2/repository/models/timed/load"
    durations = []
    for round_ in range(5):
        body = {"parameters": {"uri": image.uri, "digest": image.digest, "version": str(round_),
                               "sha256": sha256}}  # fmt: skip
        started = time.perf_counter()
        response = httpx.post(url, json=body, headers=AUTH, timeout=30)
        durations.append(time.perf_counter() - started)
        assert response.status_code == 200, response.text
    print(f"\nmodelcar of {image.size_bytes} bytes: pull+verify+load median "
          f"{np.median(durations) * 1000:.0f} ms over 5 loads")  # fmt: skip


def test_bad_modelcars_are_refused_and_the_last_good_keeps_serving(
    oci_stack: Any, publisher: Any, push_modelcar: Push, good_files: dict[str, bytes],
    wait_until: Callable[..., Any],
) -> None:  # fmt: skip
    good = push_modelcar(good_files, "mnist-good", "v1")
    good_sha = sha256_of(good_files["model.onnx"])
    good_id = register_modelcar(publisher, "v1", good.uri, good.digest, good_sha)
    service = create_service(oci_stack, "digits", publisher.models["MNIST"],
                             modelVersionId=good_id)  # fmt: skip
    assert wait_until(lambda: served_version(oci_stack, "digits"), timeout=30) == good_id
    for version_id, reason in bad_versions(oci_stack, publisher, push_modelcar, good_files):
        patch_service(oci_stack, service, modelVersionId=version_id)
        record = wait_until(lambda v=version_id: failed_record(oci_stack, service, v),
                            timeout=30, what=reason)  # fmt: skip
        assert reason in record["description"], (reason, record["description"])
        assert served_version(oci_stack, "digits") == good_id, reason


def bad_versions(
    stack: Any, publisher: Any, push: Push, files: dict[str, bytes]
) -> list[tuple[str, str]]:
    """(version id, reason fragment) for every kind of bad modelcar."""
    sha = sha256_of(files["model.onnx"])
    moved = push(files, "mnist-moved", "v2")
    push({**files, "model.onnx": files["model.onnx"] + b"\0"}, "mnist-moved", "v2")
    no_model = push({"requirements.txt": b"numpy==2\n"}, "mnist-empty", "v3")
    other = push(files, "mnist-other", "v4")
    absent = f"oci://{other.pinned_reference.split('@')[0]}@sha256:{'0' * 64}"
    elsewhere = f"oci://{stack.unreachable}/mnist:v5"
    return [
        (register_modelcar(publisher, "v2", moved.uri, moved.digest, sha), "tag moved"),
        (register_modelcar(publisher, "v3", no_model.uri, no_model.digest, None),
         "no /models/model.onnx"),
        (register_modelcar(publisher, "v4", absent, None, sha), "not found in the registry"),
        (register_modelcar(publisher, "v5", other.uri, other.digest, "1" * 64),
         "sha256 mismatch"),
        (register_modelcar(publisher, "v6", elsewhere, other.digest, sha), "unreachable"),
        (register_modelcar(publisher, "v7", "oci://quay.io/acme/mnist:v7", other.digest, sha),
         "registry 'quay.io' is not allowed"),
    ]  # fmt: skip


def failed_record(stack: Any, service: str, version_id: str) -> dict[str, Any] | None:
    records = serve_records(stack, service)
    return next((r for r in records if r["modelVersionId"] == version_id
                 and r["lastKnownState"] == "FAILED"), None)  # fmt: skip
