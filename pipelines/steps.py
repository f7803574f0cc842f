"""What each pipeline step does, as plain functions over a model directory.

The KFP components in `pipelines.components` are thin wrappers around these, so the work is
the `training` package's (load, train, evaluate, export, publish) and nothing is forked.
A model directory holds what `training.export.export_model` writes (model.onnx, golden.npz,
requirements.txt, export.json) plus `training.json`, the record of the training run.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.params import training_problems

TRAINING_RECORD_FILENAME = "training.json"


class StepError(RuntimeError):
    """A pipeline step could not do its work; the message says why and what to fix."""


@dataclass(frozen=True)
class TrainingRecord:
    """How the model in a model directory was trained and how it scored."""

    kind: str
    params: dict[str, Any]
    dataset: dict[str, Any]
    test_accuracy: float
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)

    def save(self, directory: Path) -> Path:
        path = Path(directory) / TRAINING_RECORD_FILENAME
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        return path

    @classmethod
    def load(cls, directory: Path) -> TrainingRecord:
        path = Path(directory) / TRAINING_RECORD_FILENAME
        if not path.is_file():
            raise StepError(f"{directory} holds no {TRAINING_RECORD_FILENAME}: not a trained model")
        return cls(**json.loads(path.read_text()))


@dataclass(frozen=True)
class Verdict:
    """The validation step's decision and the sentence that explains it."""

    passed: bool
    accuracy: float
    min_accuracy: float
    reason: str


def require(problems: list[str]) -> None:
    """Raise StepError listing `problems`, if there are any."""
    if problems:
        raise StepError("invalid pipeline parameters: " + "; ".join(problems) + ".")


def train_step(kind: str, epochs: int, learning_rate: float, directory: Path) -> TrainingRecord:
    """Train a `kind` model, export it to `directory` as parity-checked ONNX, record the run."""
    require(training_problems(kind, epochs, learning_rate, 0.0))
    from training.data import load_mnist
    from training.export import export_model, heldout_batch
    from training.models import TrainingParams, evaluate_model, train_model

    data = load_mnist()
    print(f"Data: {data.description} ({data.train_size} train / {data.test_size} test images)")
    params = TrainingParams(epochs=epochs, learning_rate=learning_rate)
    model, run = train_model(kind, data, params, verbose=2)
    accuracy = evaluate_model(model, data)
    images, labels = heldout_batch(data.x_test, data.test_labels)
    exported = export_model(model, Path(directory), images, labels)
    print(f"Exported {exported.onnx_path} (opset {exported.opset}, sha256 {exported.sha256[:12]})")
    record = TrainingRecord(kind, params.as_dict(), data.summary(), accuracy, run.seconds,
                            run.history)  # fmt: skip
    record.save(Path(directory))
    print(f"Trained {kind} ({epochs} epochs) in {run.seconds:.1f} s: test accuracy {accuracy:.4f}")
    return record


def onnx_test_accuracy(directory: Path) -> tuple[float, int]:
    """Accuracy of the exported ONNX model (onnxruntime) on the test split, and its size."""
    import numpy as np

    from training.data import load_mnist
    from training.export import ExportedModel, onnx_probabilities

    exported = ExportedModel.load(Path(directory))
    data = load_mnist()
    predicted = onnx_probabilities(exported.onnx_path, data.x_test).argmax(axis=1)
    return float(np.mean(predicted == data.test_labels)), data.test_size


def validate_step(directory: Path, min_accuracy: float) -> Verdict:
    """Score the ONNX file that would be published; pass when accuracy >= `min_accuracy`."""
    require(training_problems("dense", 1, 0.1, min_accuracy))
    accuracy, count = onnx_test_accuracy(directory)
    passed = accuracy >= min_accuracy
    comparison = "meets" if passed else "is below"
    reason = (
        f"test accuracy {accuracy:.4f} of the ONNX model on {count} test images "
        f"{comparison} the minimum {min_accuracy:.4f}"
    )
    print(("PASSED: " if passed else "FAILED: ") + reason)
    return Verdict(passed, accuracy, min_accuracy, reason)


def not_registered_message(model_name: str, reason: str) -> str:
    """The sentence the pipeline ends with when validation failed."""
    message = (
        f"NOT REGISTERED: {reason}, so no new version of {model_name!r} was uploaded to S3 "
        "or registered. Train longer (epochs), try the other kind, or lower min_accuracy."
    )
    print(message)
    return message


@dataclass(frozen=True)
class S3Location:
    """Where the model goes; empty fields fall back to AWS_S3_ENDPOINT / AWS_S3_BUCKET."""

    endpoint: str = ""
    bucket: str = ""


@dataclass(frozen=True)
class Lineage:
    """The pipeline run that produced a version, recorded in its customProperties."""

    run_id: str
    run_name: str
    accuracy: float
    min_accuracy: float
