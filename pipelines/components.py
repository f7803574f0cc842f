"""The pipeline's steps as KFP v2 lightweight Python components (bodies only; see pipeline.py).

KFP copies each function's source into the compiled YAML and runs it in the component's
image, so every body imports what it needs inside and delegates to `pipelines.steps`; the
image (or, locally, the repository's virtualenv) provides the `pipelines` and `training`
packages. No `from __future__ import annotations` here: KFP reads the annotations as types.
"""

from typing import NamedTuple

from kfp.dsl import Input, Metrics, Model, Output


def train(
    kind: str, epochs: int, learning_rate: float, model: Output[Model], metrics: Output[Metrics]
) -> float:
    """Train a dense or CNN MNIST model and export it to parity-checked ONNX."""
    from pipelines.steps import train_step

    lineage = train_step(kind, epochs, learning_rate, model.path)
    model.metadata.update({"kind": kind, "format": "onnx", "dataset": lineage.dataset_source})
    metrics.log_metric("test_accuracy", lineage.test_accuracy)
    metrics.log_metric("training_seconds", round(lineage.training_seconds, 1))
    return lineage.test_accuracy


def validate(
    model: Input[Model],
    min_accuracy: float,
    metrics: Output[Metrics],
) -> NamedTuple(  # type: ignore[valid-type]  # noqa: UP014
    "ValidationOutputs", [("passed", bool), ("accuracy", float), ("reason", str)]
):
    """Score the exported ONNX model on the test set against the minimum accuracy."""
    from pipelines.steps import validate_step

    verdict = validate_step(model.path, min_accuracy)
    metrics.log_metric("onnx_test_accuracy", verdict.accuracy)
    metrics.log_metric("min_accuracy", min_accuracy)
    return (verdict.passed, verdict.accuracy, verdict.reason)


def publish(
    model: Input[Model],
    accuracy: float,
    min_accuracy: float,
    model_name: str,
    registry_url: str,
    s3_endpoint: str,
    s3_bucket: str,
    pipeline_run_id: str,
    pipeline_run_name: str,
) -> NamedTuple(  # type: ignore[valid-type]  # noqa: UP014
    "PublishOutputs",
    [("version_id", str), ("version_name", str), ("uri", str), ("summary", str)],
):
    """Upload the model to S3 and register it as a new version, with the run as lineage."""
    from pipelines.steps import PipelineRun, publish_step

    run = PipelineRun(pipeline_run_id, pipeline_run_name, accuracy, min_accuracy)
    published = publish_step(model.path, model_name, registry_url, s3_endpoint, s3_bucket, run)
    return (published.version_id, published.version_name, published.uri, published.summary)


def not_registered(model_name: str, reason: str) -> str:
    """Say why this run registered nothing (validation failed)."""
    from pipelines.steps import not_registered_message

    return not_registered_message(model_name, reason)
