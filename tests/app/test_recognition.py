"""How well the deployed models recognise drawings made from real MNIST test digits.

Each drawing style (size, place, stroke width; see mnist_drawings.DRAWINGS) is rendered from
the same 300 test digits, preprocessed by canvas_to_mnist and sent in one batch to the
deployed CNN (v2) and dense (v1) models over the Open Inference Protocol. The accuracies are
written to test-artifacts/recognition-accuracy.json.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

from app.preprocess import canvas_to_mnist
from tests.app.app_stack import RunningStack
from tests.app.mnist_drawings import DRAWINGS, MnistTestSet

pytestmark = [pytest.mark.server, pytest.mark.slow]
ORIGINAL = "original MNIST test digits"
ALLOWED_DROP = {"mnist-e2e": (0.03, 0.06), "mnist-v1": (0.05, 0.10)}
"""Per model: how far below the originals' accuracy the mean over styles / any style may be."""


def predicted_digits(serving_url: str, service: str, images: np.ndarray) -> np.ndarray:
    """One OIP request for the whole batch; the argmax of each row's probabilities."""
    tensor = {"name": "x", "shape": [len(images), 28, 28], "datatype": "FP32",
              "data": images.astype(np.float32).ravel().tolist()}  # fmt: skip
    answer = httpx.post(f"{serving_url}/v2/models/{service}/infer", json={"inputs": [tensor]},
                        timeout=120)  # fmt: skip
    answer.raise_for_status()
    output = next(o for o in answer.json()["outputs"] if o["name"] == "probabilities")
    return np.asarray(output["data"], dtype=np.float32).reshape(len(images), 10).argmax(axis=1)


@pytest.fixture(scope="module")
def model_inputs(mnist_test_set: MnistTestSet, sample_indices: np.ndarray) -> dict[str, np.ndarray]:
    """The originals, and every drawing style after canvas_to_mnist, as [300, 28, 28]."""
    digits = mnist_test_set.images[sample_indices]
    inputs = {ORIGINAL: digits.astype(np.float32) / 255.0}
    for name, drawing in DRAWINGS.items():
        images = [canvas_to_mnist(drawing(digit)) for digit in digits]
        inputs[name] = np.stack([image for image in images if image is not None])
    return inputs


def test_deployed_models_recognise_drawings_nearly_as_well_as_originals(
    app_stack: RunningStack,
    cnn_deployed: str,
    dense_deployed: str,
    model_inputs: dict[str, np.ndarray],
    mnist_test_set: MnistTestSet,
    sample_indices: np.ndarray,
    artifacts_dir: Path,
) -> None:
    labels = mnist_test_set.labels[sample_indices]
    accuracy = {
        service: {
            name: float(np.mean(predicted_digits(app_stack.serving_url, service, images) == labels))
            for name, images in model_inputs.items()
        }
        for service in (cnn_deployed, dense_deployed)
    }
    report = {"digits": len(labels), "accuracy": accuracy}
    (artifacts_dir / "recognition-accuracy.json").write_text(json.dumps(report, indent=2))
    for service, scores in accuracy.items():
        drawn = [score for name, score in scores.items() if name != ORIGINAL]
        mean_drop, worst_drop = ALLOWED_DROP[service]
        assert np.mean(drawn) >= scores[ORIGINAL] - mean_drop, (service, scores)
        assert min(drawn) >= scores[ORIGINAL] - worst_drop, (service, scores)
