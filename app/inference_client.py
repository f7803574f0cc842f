"""Ask a deployed model what digit a 28×28 image is, over the Open Inference Protocol v2.

`POST {endpoint}/v2/models/<name>/infer` with the image as the FP32 input `x` [1, 28, 28];
the answer's `probabilities` output holds the 10 class probabilities.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
import numpy as np

from app.deployments import Deployment
from app.errors import DeploymentFailed, EndpointPending, InferenceFailed, InferenceUnavailable
from app.http_errors import error_text

INPUT_NAME = "x"
OUTPUT_NAME = "probabilities"
CLASSES = 10


@dataclass(frozen=True)
class Prediction:
    """What one deployment answered, and how long the round trip took."""

    deployment: Deployment
    probabilities: tuple[float, ...]
    latency_ms: float
    model_version: str | None

    @property
    def digit(self) -> int:
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        return float(max(self.probabilities))


def infer_request(image: np.ndarray) -> dict[str, Any]:
    """The OIP request body for one 28×28 image."""
    if image.shape != (28, 28):
        raise ValueError(f"expected a 28×28 image, got shape {image.shape}")
    data = np.asarray(image, dtype=np.float32).ravel().tolist()
    return {"inputs": [{"name": INPUT_NAME, "shape": [1, 28, 28], "datatype": "FP32",
                        "data": data}]}  # fmt: skip


def probabilities_from(answer: object) -> tuple[float, ...]:
    """The 10 probabilities in an OIP answer; ValueError saying what is wrong otherwise."""
    outputs = answer.get("outputs") if isinstance(answer, dict) else None
    if not isinstance(outputs, list) or not outputs:
        raise ValueError("the answer has no outputs")
    named = [o for o in outputs if isinstance(o, dict) and o.get("name") == OUTPUT_NAME]
    output = named[0] if named else outputs[0]
    data = output.get("data") if isinstance(output, dict) else None
    if not isinstance(data, list) or len(data) != CLASSES:
        raise ValueError(f"expected {CLASSES} probabilities, got {_describe(data)}")
    return tuple(float(p) for p in data)


def _describe(data: object) -> str:
    return f"{len(data)} values" if isinstance(data, list) else type(data).__name__


class InferenceClient:
    """Asks deployed models over OIP v2 through one httpx client, so that its connections and
    TLS setup are reused: a new httpx client costs about 20 ms (it loads the CA bundle)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self._http = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def predict(self, deployment: Deployment, image: np.ndarray) -> Prediction:
        """Send `image` to the deployment's endpoint; raise an AppError when that fails."""
        url = serving_url(deployment)
        started = time.perf_counter()
        answer = self._post(url, infer_request(image), deployment.service_name)
        latency_ms = (time.perf_counter() - started) * 1000
        try:
            probabilities = probabilities_from(answer)
        except ValueError as exc:
            raise InferenceFailed(deployment.service_name, str(exc)) from exc
        version = answer.get("model_version") if isinstance(answer, dict) else None
        return Prediction(deployment, probabilities, latency_ms, str(version) if version else None)

    def model_ready(self, deployment: Deployment) -> bool | None:
        """The model's OIP readiness (`GET .../ready`): True, False, or None when nobody answers."""
        url = deployment.infer_url
        if url is None:
            return False
        try:
            response = self._http.get(url.removesuffix("/infer") + "/ready")
        except httpx.HTTPError:
            return None
        return response.status_code == 200

    def _post(self, url: str, body: dict[str, Any], service: str) -> object:
        try:
            response = self._http.post(url, json=body)
        except httpx.HTTPError as exc:
            raise InferenceUnavailable(_server_of(url)) from exc
        if not response.is_success:
            detail = f"HTTP {response.status_code}: {error_text(response, 'error')}"
            raise InferenceFailed(service, detail, response.status_code)
        try:
            return response.json()
        except ValueError as exc:
            raise InferenceFailed(service, "the answer is not JSON") from exc


def serving_url(deployment: Deployment) -> str:
    """The infer URL of a deployment the controller reports serving; an AppError otherwise."""
    if deployment.status == "failed":
        raise DeploymentFailed(deployment.service_name, deployment.observed_reason)
    url = deployment.infer_url
    if deployment.status != "serving" or url is None:
        raise EndpointPending(deployment.service_name, deployment.observed_state)
    return url


def _server_of(url: str) -> str:
    return url.split("/v2/", 1)[0]
