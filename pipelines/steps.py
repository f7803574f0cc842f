"""What each pipeline step does, as plain functions over a model directory.

The KFP components in `pipelines.components` are thin wrappers around these, and these call
the `training` package for the work (load, train, evaluate, export, upload, register), so
nothing is forked. A model directory holds what `training.export.export_model` writes
(model.onnx, golden.npz, requirements.txt, export.json) plus training's lineage.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.params import PIPELINE_NAME, location_problems, training_problems

if TYPE_CHECKING:
    from training.export import ExportedModel
    from training.lineage import Lineage
    from training.modelcar import ModelcarImage

VERSION_NAME = re.compile(r"^v(\d+)\Z")
# upstream's ModelArtifact source fields for a model produced by a Kubeflow pipeline run
SOURCE_KIND, SOURCE_CLASS = "kfp", "pipelinerun"


class StepError(RuntimeError):
    """A pipeline step could not do its work; the message says why and what to fix."""


@dataclass(frozen=True)
class Verdict:
    """The validation step's decision and the sentence that explains it."""

    passed: bool
    accuracy: float
    min_accuracy: float
    reason: str


@dataclass(frozen=True)
class PipelineRun:
    """The run that produced and validated a model, recorded as lineage on its version."""

    run_id: str
    run_name: str
    validated_accuracy: float
    min_accuracy: float

    def properties(self) -> dict[str, str | float]:
        """customProperties added to the version beside training's own lineage."""
        return {
            "pipeline_name": PIPELINE_NAME,
            "pipeline_run_id": self.run_id,
            "pipeline_run_name": self.run_name,
            "validation_accuracy": self.validated_accuracy,
            "validation_min_accuracy": self.min_accuracy,
        }


@dataclass(frozen=True)
class Published:
    """The version the publish step registered."""

    version_id: str
    version_name: str
    uri: str
    summary: str


def require(problems: list[str]) -> None:
    """Raise StepError listing `problems`, if there are any."""
    if problems:
        raise StepError("invalid pipeline parameters: " + "; ".join(problems) + ".")


def train_step(kind: str, epochs: int, learning_rate: float, directory: str | Path) -> Lineage:
    """Train a `kind` model, export it to `directory` as parity-checked ONNX, save its lineage."""
    require(training_problems(kind, epochs, learning_rate, 0.0))
    from training.data import load_mnist
    from training.export import export_model, heldout_batch
    from training.lineage import Lineage
    from training.models import TrainingParams, evaluate_model, train_model

    data = load_mnist()
    print(f"Data: {data.description} ({data.train_size} train / {data.test_size} test images)")
    params = TrainingParams(epochs=epochs, learning_rate=learning_rate)
    model, run = train_model(kind, data, params, verbose=2)
    accuracy = evaluate_model(model, data)
    images, labels = heldout_batch(data.x_test, data.test_labels)
    exported = export_model(model, Path(directory), images, labels)
    print(f"Exported {exported.onnx_path} (opset {exported.opset}, sha256 {exported.sha256[:12]})")
    lineage = Lineage.from_run(data, run, accuracy)
    lineage.save(Path(directory))
    print(f"Trained {kind} ({epochs} epochs) in {run.seconds:.1f} s: test accuracy {accuracy:.4f}")
    return lineage


def onnx_test_accuracy(directory: str | Path) -> tuple[float, int]:
    """Accuracy of the exported ONNX model (onnxruntime) on the test split, and its size."""
    import numpy as np

    from training.data import load_mnist
    from training.export import ExportedModel, onnx_probabilities

    exported = ExportedModel.load(Path(directory))
    data = load_mnist()
    predicted = onnx_probabilities(exported.onnx_path, data.x_test).argmax(axis=1)
    return float(np.mean(predicted == data.test_labels)), data.test_size


def validate_step(directory: str | Path, min_accuracy: float) -> Verdict:
    """Score the ONNX file that would be published; pass when accuracy >= `min_accuracy`."""
    require(training_problems("dense", 1, 0.1, min_accuracy))
    accuracy, count = onnx_test_accuracy(directory)
    passed = accuracy >= min_accuracy
    comparison = "meets" if passed else "is below"
    reason = (
        f"test accuracy {accuracy:.4f} of the ONNX model on {count} test images "
        f"{comparison} the minimum {min_accuracy:.4f}"
    )
    print(("Validation passed: " if passed else "Validation failed: ") + reason)
    return Verdict(passed, accuracy, min_accuracy, reason)


def next_version_name(registry: Any, model_name: str) -> str:
    """'v<n+1>' after the highest 'v<n>' version of `model_name` ('v1' for a new model)."""
    if registry.get_registered_model(model_name) is None:
        return "v1"
    numbers = [int(match[1]) for version in registry.get_model_versions(model_name)
               if (match := VERSION_NAME.match(version.name or ""))]  # fmt: skip
    return f"v{max(numbers, default=0) + 1}"


def record_source(registry: Any, model_name: str, version: str, run: PipelineRun) -> None:
    """Set the artifact's upstream modelSource* fields to this pipeline run."""
    artifact = registry.get_model_artifact(model_name, version)
    artifact.model_source_kind, artifact.model_source_class = SOURCE_KIND, SOURCE_CLASS
    artifact.model_source_id, artifact.model_source_name = run.run_id, run.run_name
    registry.update(artifact)


def publish_step(
    directory: str | Path,
    model_name: str,
    registry_url: str,
    s3_endpoint: str,
    s3_bucket: str,
    run: PipelineRun,
) -> Published:
    """Upload the model to S3 and register it as the next `v<n>` of `model_name`, with the
    training lineage and this pipeline run in the version's customProperties. An empty
    `s3_endpoint` / `s3_bucket` falls back to AWS_S3_ENDPOINT / AWS_S3_BUCKET.

    Composed from training.publish's steps (which `publish_model` runs in the same order)
    so the pipeline's lineage goes into the one registration call."""
    require(location_problems(model_name, registry_url, s3_endpoint, s3_bucket))
    from training import publish
    from training.export import ExportedModel
    from training.lineage import Lineage
    from training.model_card import refresh_model_card
    from training.storage import StorageSettings
    from training.turn import wait_for_turn

    exported, lineage = ExportedModel.load(Path(directory)), Lineage.load(Path(directory))
    settings = publish.RegistrySettings.from_env(url=registry_url, model_name=model_name)
    storage = StorageSettings.from_env(endpoint=s3_endpoint, bucket=s3_bucket)
    publish.verify_export(exported)
    registry = publish.connect_registry(settings)
    wait_for_turn(registry, model_name)  # PUBLISH_AFTER, for concurrent trainings
    version = publish.choose_version(registry, model_name, next_version_name(registry, model_name))
    publish.check_bucket(storage)
    modelcar = push_modelcar(exported, model_name, version)
    uris = publish.upload_export(exported, storage, f"{model_name}/{version}", progress=False)
    properties = {**publish.version_properties(exported, lineage, uris),
                  **publish.modelcar_properties(modelcar), **run.properties()}  # fmt: skip
    publish.register_version(registry, settings, storage, version, uris["model_uri"], properties)
    if modelcar is not None:
        publish.register_modelcar(registry, settings, version, modelcar, exported)
    record_source(registry, model_name, version, run)
    refresh_model_card(registry_url, model_name)
    version_id = str(registry.get_model_version(model_name, version).id)
    summary = registered_message(model_name, version, version_id, uris["model_uri"], run)
    return Published(version_id, version, uris["model_uri"], summary)


def push_modelcar(exported: ExportedModel, model_name: str, version: str) -> ModelcarImage | None:
    """The version's modelcar pushed to OCI_REGISTRY (default localhost:5000), or None when
    it is set empty or nothing answers at the default (`OciSettings.from_env`)."""
    from training import publish
    from training.modelcar import OciSettings

    oci = OciSettings.from_env()
    if oci is None:
        return None
    modelcar = publish.push_modelcar(exported, oci, model_name, version)
    print(f"Pushed modelcar {modelcar.uri} ({modelcar.digest})")
    return modelcar


def registered_message(
    model_name: str, version: str, version_id: str, uri: str, run: PipelineRun
) -> str:
    """The sentence the pipeline ends with when it registered a version."""
    message = (
        f"REGISTERED: {model_name} version {version} (id {version_id}) at {uri}, "
        f"test accuracy {run.validated_accuracy:.4f} >= {run.min_accuracy:.4f}, "
        f"lineage: pipeline run {run.run_id} ({run.run_name})."
    )
    print(message)
    return message


def not_registered_message(model_name: str, reason: str) -> str:
    """The sentence the pipeline ends with when validation failed."""
    message = (
        f"NOT REGISTERED: {reason}, so no new version of {model_name!r} was uploaded to S3 "
        "or registered. Train longer (epochs), try the other kind, or lower min_accuracy."
    )
    print(message)
    return message
