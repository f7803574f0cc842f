"""The controller against a real registry, SeaweedFS and inference server (all processes)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import onnx
import pytest
from stack_calls import (
    create_service,
    environment_id,
    index,
    infer,
    patch_service,
    serve_records,
    served_version,
    serves,
)

pytestmark = pytest.mark.server

Wait = Callable[..., Any]


def refused_loads(stack: Any) -> float:
    metrics = httpx.get(f"{stack.serving_url}/metrics").text
    found = re.search(r'serving_model_loads_total\{outcome="refused"\} ([0-9.]+)', metrics)
    return float(found.group(1)) if found else 0.0


def test_controller_creates_its_serving_environment(serving_stack: Any, wait_until: Wait) -> None:
    assert wait_until(lambda: environment_id(serving_stack)) == "1"


def test_controller_deploys_undeploys_and_records_history(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, wait_until: Wait
) -> None:
    version = publisher.publish("MNIST", "v1", mnist_model_bytes)
    service = create_service(serving_stack, "digits", publisher.models["MNIST"],
                             modelVersionId=version)  # fmt: skip
    assert wait_until(lambda: served_version(serving_stack, "digits")) == version
    wait_until(lambda: serves(serving_stack, service) == [(version, "RUNNING", "")], what="RUNNING")
    detail = httpx.get(f"{serving_stack.api}/inference_services/{service}").json()
    assert detail["customProperties"]["url"]["string_value"] == (
        f"{serving_stack.serving_url}/v2/models/digits")  # fmt: skip
    metadata = httpx.get(f"{serving_stack.serving_url}/v2/models/digits").json()
    assert metadata["properties"]["registered_model"] == "MNIST"  # carried by the resolve
    assert metadata["properties"]["model_version_name"] == "v1"
    patch_service(serving_stack, service, desiredState="UNDEPLOYED")
    wait_until(lambda: infer(serving_stack, "digits").status_code == 404, what="unload")
    wait_until(lambda: len(serves(serving_stack, service)) == 2, what="COMPLETE record")
    patch_service(serving_stack, service, desiredState="DEPLOYED")
    assert wait_until(lambda: served_version(serving_stack, "digits")) == version
    history = wait_until(lambda: len(serves(serving_stack, service)) == 3 and serves(
        serving_stack, service))  # fmt: skip
    assert history == [(version, "RUNNING", ""), (version, "COMPLETE", "undeployed"),
                       (version, "RUNNING", "")]  # fmt: skip


def test_controller_serves_latest_version_then_the_pinned_one(
    serving_stack: Any, publisher: Any, make_model: Callable[..., bytes], wait_until: Wait
) -> None:
    first = publisher.publish("MNIST", "v1", make_model(seed=1))
    second = publisher.publish("MNIST", "v2", make_model(seed=2))
    service = create_service(serving_stack, "latest", publisher.models["MNIST"])
    assert wait_until(lambda: served_version(serving_stack, "latest")) == second
    patch_service(serving_stack, service, modelVersionId=first)
    wait_until(lambda: served_version(serving_stack, "latest") == first, what="switch to v1")
    history = wait_until(lambda: len(serves(serving_stack, service)) == 3 and serves(
        serving_stack, service))  # fmt: skip
    replaced = f"replaced by version {first}"
    assert history == [(second, "RUNNING", ""), (second, "COMPLETE", replaced),
                       (first, "RUNNING", "")]  # fmt: skip


REFUSED_LOCATIONS = {
    "elsewhere": "http://evil.example/model.onnx",
    "local-file": "file:///etc/passwd",
    "dotdot": "s3://models/a/../b/model.onnx",
    "other-bucket": "s3://private/m.onnx",
}


def bad_versions(publisher: Any, good: bytes, too_new: bytes) -> dict[str, tuple[str, str]]:
    """Service name → (version id, expected reason fragment) for artifacts that must fail.

    Each case is its own registered model (named like the service). The first three reach
    the server and are refused there; the locations are refused by the controller itself.
    """
    future_ir = onnx.load_model_from_string(good)
    future_ir.ir_version = 99
    tampered = good.replace(b"mnist", b"mnisT", 1)
    locations = {name: publisher.publish(name, "v1", good, uri=uri)
                 for name, uri in REFUSED_LOCATIONS.items()}  # fmt: skip
    return {
        "tampered": (publisher.publish("tampered", "v1", tampered,
                                       sha256=hashlib.sha256(good).hexdigest(),
                                       on_artifact=True),
                     "sha256 mismatch"),
        "future-opset": (publisher.publish("future-opset", "v1", too_new),
                         "supports that domain up to"),
        "future-ir": (publisher.publish("future-ir", "v1", future_ir.SerializeToString()),
                      "IR version 99"),
        "elsewhere": (locations["elsewhere"], "only s3://"),
        "local-file": (locations["local-file"], "only s3://"),
        "dotdot": (locations["dotdot"], "'..'"),
        "other-bucket": (locations["other-bucket"], "bucket 'private' is not allowed"),
    }  # fmt: skip


def test_controller_records_refusals_and_keeps_other_models_serving(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, too_new_opset_bytes: bytes,
    wait_until: Wait,
) -> None:  # fmt: skip
    good = publisher.publish("MNIST", "v1", mnist_model_bytes)
    good_service = create_service(serving_stack, "good", publisher.models["MNIST"])
    cases = bad_versions(publisher, mnist_model_bytes, too_new_opset_bytes)
    services = {name: create_service(serving_stack, name, publisher.models[name])
                for name in cases}  # fmt: skip
    assert wait_until(lambda: served_version(serving_stack, "good")) == good
    for name, (version, reason) in cases.items():
        records = wait_until(lambda s=services[name]: serve_records(serving_stack, s), what=name)
        assert [(r["modelVersionId"], r["lastKnownState"]) for r in records] == [
            (version, "FAILED")], name  # fmt: skip
        assert reason in records[0]["description"], (name, records)
        assert records[0]["customProperties"]["reason"]["string_value"] == (
            records[0]["description"])  # fmt: skip
        assert infer(serving_stack, name).status_code == 404
    wait_until(lambda: refused_loads(serving_stack) >= 9, what="three retries each")
    assert all(len(serves(serving_stack, s)) == 1 for s in services.values())
    assert serves(serving_stack, good_service) == [(good, "RUNNING", "")]
    loaded = index(serving_stack)
    assert loaded["good"]["state"] == "READY"
    assert set(REFUSED_LOCATIONS).isdisjoint(loaded)
    assert infer(serving_stack, "good").status_code == 200


def test_controller_retries_a_failed_load_until_it_works(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, wait_until: Wait
) -> None:
    version = publisher.publish("MNIST", "v1", b"not yet a model", sha256=None)
    service = create_service(serving_stack, "later", publisher.models["MNIST"])
    wait_until(lambda: serves(serving_stack, service), what="FAILED record")
    publisher.upload("MNIST/v1/model.onnx", mnist_model_bytes)  # same key, now a model
    assert wait_until(lambda: served_version(serving_stack, "later"), timeout=30) == version
    states = [state for _, state, _ in serves(serving_stack, service)]
    assert states == ["FAILED", "RUNNING"]


def test_controller_ignores_other_runtimes_and_unloads_what_it_no_longer_serves(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, wait_until: Wait
) -> None:
    publisher.publish("MNIST", "v1", mnist_model_bytes)
    model = publisher.models["MNIST"]
    create_service(serving_stack, "foreign", model, runtime="kserve")
    service = create_service(serving_stack, "moving", model)
    wait_until(lambda: served_version(serving_stack, "moving"), what="moving served")
    patch_service(serving_stack, service, runtime="kserve")
    wait_until(lambda: infer(serving_stack, "moving").status_code == 404, what="orphan unload")
    assert "foreign" not in index(serving_stack)


def test_controller_converges_after_restarts(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, wait_until: Wait
) -> None:
    version = publisher.publish("MNIST", "v1", mnist_model_bytes)
    service = create_service(serving_stack, "sturdy", publisher.models["MNIST"])
    wait_until(lambda: served_version(serving_stack, "sturdy") == version, what="first load")
    serving_stack.stop("serving")
    serving_stack.start("serving")
    assert wait_until(lambda: served_version(serving_stack, "sturdy")) == version
    serving_stack.stop("controller")
    serving_stack.start("controller")
    serving_stack.stop("registry")
    wait_until(lambda: "registry: registry unreachable" in serving_stack.log("controller"))
    assert served_version(serving_stack, "sturdy") == version
    serving_stack.start("registry")
    patch_service(serving_stack, service, desiredState="UNDEPLOYED")
    wait_until(lambda: infer(serving_stack, "sturdy").status_code == 404, what="unload")
    # "recovered" is logged at the end of the pass that unloaded: it may come a moment later
    wait_until(lambda: "registry: recovered" in serving_stack.log("controller"), what="recovery")
    history = wait_until(lambda: len(serves(serving_stack, service)) == 2 and serves(
        serving_stack, service))  # fmt: skip
    assert [state for _, state, _ in history] == ["RUNNING", "COMPLETE"]
    assert np.all(np.array([v for v, _, _ in history]) == version)


def test_controller_authenticates_to_a_registry_that_requires_a_token(
    make_stack: Callable[..., Any], wait_until: Wait
) -> None:
    stack = make_stack({"MR_AUTH_TOKEN": "reg-secret", "MODEL_REGISTRY_TOKEN": "reg-secret"})
    assert httpx.get(f"{stack.api}/serving_environments").status_code == 401
    assert stack.environment_exists()
    stack.env["MODEL_REGISTRY_TOKEN"] = "wrong"
    stack.stop("controller")
    stack.start("controller")
    wait_until(lambda: "registry refused" in stack.log("controller"), what="refusal logged")
