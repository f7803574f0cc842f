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

pytestmark = pytest.mark.server

AUTH = {"Authorization": "Bearer test-token"}
Wait = Callable[..., Any]


def environment_id(stack: Any) -> str | None:
    """Id of the controller's ServingEnvironment `local` (None until it exists)."""
    response = httpx.get(f"{stack.api}/serving_environment", params={"name": "local"})
    return str(response.json()["id"]) if response.status_code == 200 else None


def create_service(stack: Any, name: str, model_id: str, **fields: Any) -> str:
    body = {"name": name, "registeredModelId": model_id, "runtime": "mmserver1",
            "desiredState": "DEPLOYED", "servingEnvironmentId": environment_id(stack),
            **fields}  # fmt: skip
    response = httpx.post(f"{stack.api}/inference_services", json=body)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


def patch_service(stack: Any, service_id: str, **fields: Any) -> None:
    response = httpx.patch(f"{stack.api}/inference_services/{service_id}", json=fields)
    assert response.status_code == 200, response.text


def serves(stack: Any, service_id: str) -> list[tuple[str, str, str]]:
    url = f"{stack.api}/inference_services/{service_id}/serves"
    items = httpx.get(url, params={"orderBy": "ID", "sortOrder": "ASC"}).json()["items"]
    return [(i["modelVersionId"], i["lastKnownState"], i.get("description", "")) for i in items]


def index(stack: Any) -> dict[str, dict[str, Any]]:
    rows = httpx.post(f"{stack.serving_url}/v2/repository/index", headers=AUTH).json()
    return {row["name"]: row for row in rows}


def infer(stack: Any, name: str) -> httpx.Response:
    body = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP32",
                        "data": [0.0] * 784}]}  # fmt: skip
    return httpx.post(f"{stack.serving_url}/v2/models/{name}/infer", json=body)


def refused_loads(stack: Any) -> float:
    metrics = httpx.get(f"{stack.serving_url}/metrics").text
    found = re.search(r'serving_model_loads_total\{outcome="refused"\} ([0-9.]+)', metrics)
    return float(found.group(1)) if found else 0.0


def served_version(stack: Any, name: str) -> str | None:
    response = infer(stack, name)
    return response.json()["model_version"] if response.status_code == 200 else None


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


def bad_versions(publisher: Any, good: bytes, too_new: bytes) -> dict[str, tuple[str, str]]:
    """Service name → (version id, expected reason fragment) for artifacts that must fail."""
    future_ir = onnx.load_model_from_string(good)
    future_ir.ir_version = 99
    tampered = good.replace(b"mnist", b"mnisT", 1)
    elsewhere = "http://evil.example/model.onnx"
    return {
        "tampered": (publisher.publish("Tampered", "v1", tampered,
                                       sha256=hashlib.sha256(good).hexdigest(),
                                       on_artifact=True),
                     "sha256 mismatch"),
        "future-opset": (publisher.publish("Future", "v1", too_new), "supports that domain up to"),
        "future-ir": (publisher.publish("FutureIR", "v1", future_ir.SerializeToString()),
                      "IR version 99"),
        "elsewhere": (publisher.publish("Elsewhere", "v1", good, uri=elsewhere), "only s3://"),
        "dotdot": (publisher.publish("DotDot", "v1", good, uri="s3://models/a/../b/model.onnx"),
                   "'..'"),
        "other-bucket": (publisher.publish("Bucket", "v1", good, uri="s3://private/m.onnx"),
                         "bucket 'private' is not allowed"),
    }  # fmt: skip


def test_controller_records_refusals_and_keeps_other_models_serving(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, too_new_opset_bytes: bytes,
    wait_until: Wait,
) -> None:  # fmt: skip
    good = publisher.publish("MNIST", "v1", mnist_model_bytes)
    good_service = create_service(serving_stack, "good", publisher.models["MNIST"])
    cases = bad_versions(publisher, mnist_model_bytes, too_new_opset_bytes)
    services = {name: create_service(serving_stack, name, publisher.models[model])
                for name, model in zip(cases, ["Tampered", "Future", "FutureIR", "Elsewhere",
                                               "DotDot", "Bucket"], strict=True)}  # fmt: skip
    assert wait_until(lambda: served_version(serving_stack, "good")) == good
    for name, (version, reason) in cases.items():
        records = wait_until(lambda s=services[name]: serves(serving_stack, s), what=name)
        assert [(v, state) for v, state, _ in records] == [(version, "FAILED")], name
        assert reason in records[0][2], (name, records)
        assert infer(serving_stack, name).status_code == 404
    wait_until(lambda: refused_loads(serving_stack) >= 9, what="three retries each")
    assert all(len(serves(serving_stack, s)) == 1 for s in services.values())
    assert serves(serving_stack, good_service) == [(good, "RUNNING", "")]
    loaded = index(serving_stack)
    assert loaded["good"]["state"] == "READY"
    assert {"elsewhere", "dotdot", "other-bucket"}.isdisjoint(loaded)
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
    assert "registry: recovered" in serving_stack.log("controller")
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
