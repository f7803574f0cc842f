"""The OIP request the app sends and how it reads the answer."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from app.deployments import Deployment
from app.errors import DeploymentFailed, EndpointPending, InferenceUnavailable
from app.inference_client import InferenceClient, infer_request, probabilities_from
from stack.proc import free_port


def test_infer_request_sends_image_as_fp32_input_x() -> None:
    image = np.linspace(0, 1, 784, dtype=np.float32).reshape(28, 28)
    body = infer_request(image)
    (tensor,) = body["inputs"]
    assert tensor["name"] == "x"
    assert tensor["shape"] == [1, 28, 28]
    assert tensor["datatype"] == "FP32"
    assert np.allclose(tensor["data"], image.ravel())


def test_infer_request_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="28×28"):
        infer_request(np.zeros((28, 27), np.float32))


def test_probabilities_from_reads_named_output() -> None:
    answer = {"outputs": [{"name": "logits", "data": [9.0] * 10},
                          {"name": "probabilities", "data": [0.1] * 10}]}  # fmt: skip
    assert probabilities_from(answer) == (0.1,) * 10


def test_probabilities_from_falls_back_to_first_output() -> None:
    answer = {"outputs": [{"name": "output_0", "data": [0.0] * 9 + [1.0]}]}
    assert probabilities_from(answer)[9] == 1.0


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"error": "boom"}, "no outputs"),
        ({"outputs": []}, "no outputs"),
        ([1, 2], "no outputs"),
        ({"outputs": [{"name": "probabilities", "data": [0.5, 0.5]}]}, "got 2 values"),
        ({"outputs": [{"name": "probabilities"}]}, "got NoneType"),
    ],
    ids=["error", "empty", "list", "two-classes", "no-data"],
)
def test_probabilities_from_rejects_bad_answer(answer: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        probabilities_from(answer)


def deployment(observed: str | None, endpoint: str | None, reason: str = "") -> Deployment:
    return Deployment(service_id="6", service_name="mnist-e2e", model_id="2", model_name="MNIST",
                      version_id="4", version_name="v2", runtime="mmserver1",
                      desired_state="DEPLOYED", observed_state=observed, observed_version_id="4",
                      observed_reason=reason, endpoint=endpoint)  # fmt: skip


@pytest.fixture
def client() -> Iterator[InferenceClient]:
    inference = InferenceClient(timeout=5)
    yield inference
    inference.close()


def test_predict_says_server_is_down(client: InferenceClient) -> None:
    server = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(InferenceUnavailable, match=f"server at {server} is not answering"):
        client.predict(deployment("RUNNING", f"{server}/v2/models/mnist-e2e"), np.zeros((28, 28)))


def test_predict_waits_for_controller_to_serve(client: InferenceClient) -> None:
    with pytest.raises(EndpointPending, match=r"not serving yet \(nothing observed yet\)"):
        client.predict(deployment(None, None), np.zeros((28, 28)))


def test_predict_reports_failed_deployment(client: InferenceClient) -> None:
    with pytest.raises(DeploymentFailed, match="could not serve mnist-e2e \\(sha256 mismatch\\)"):
        client.predict(deployment("FAILED", None, "sha256 mismatch"), np.zeros((28, 28)))


def test_model_ready_says_nobody_answers(client: InferenceClient) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}/v2/models/mnist-e2e"
    assert client.model_ready(deployment("RUNNING", endpoint)) is None
