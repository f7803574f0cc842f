"""Export a trained Keras model to ONNX and prove the export computes what Keras computes.

`tf2onnx.convert.from_keras` is broken with TensorFlow 2.21 / Keras 3, so the model is
wrapped in a `tf.function` with an explicit input signature and converted with
`tf2onnx.convert.from_function` at an explicit opset. The result follows the model contract:
input `x` FP32 [-1, 28, 28], output `probabilities` FP32 [-1, 10].
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from training.deps import describe_onnx, file_digest, package_versions, requirements_text
from training.golden import DEFAULT_GOLDEN_COUNT, DEFAULT_TOLERANCE, GoldenSet, write_golden
from training.golden import GOLDEN_FILENAME as GOLDEN_FILENAME

if TYPE_CHECKING:
    import keras

DEFAULT_OPSET = 17
INPUT_NAME = "x"
OUTPUT_NAME = "probabilities"
BATCH_DIM = "batch"
MODEL_FILENAME = "model.onnx"
REQUIREMENTS_FILENAME = "requirements.txt"
EXPORT_RECORD_FILENAME = "export.json"
CONTRACT_SIGNATURE = {
    "inputs": [{"name": INPUT_NAME, "datatype": "FP32", "shape": [-1, 28, 28]}],
    "outputs": [{"name": OUTPUT_NAME, "datatype": "FP32", "shape": [-1, 10]}],
}


class ExportError(Exception):
    """The ONNX export failed or does not follow the model contract."""


class ParityError(ExportError):
    """onnxruntime's probabilities differ from Keras's by more than the tolerance."""


@dataclass(frozen=True)
class ExportedModel:
    """An export directory (model.onnx, golden.npz, requirements.txt) and what was checked."""

    directory: Path
    opset: int
    ir_version: int
    producer: str
    signature: dict[str, Any]
    sha256: str
    size: int
    parity_max_abs_diff: float
    parity_batch_size: int
    parity_tolerance: float
    versions: dict[str, str] = field(default_factory=dict)

    @property
    def onnx_path(self) -> Path:
        return self.directory / MODEL_FILENAME

    @property
    def golden_path(self) -> Path:
        return self.directory / GOLDEN_FILENAME

    @property
    def requirements_path(self) -> Path:
        return self.directory / REQUIREMENTS_FILENAME

    def save(self) -> Path:
        """Write this record as export.json in the directory (for a later pipeline step)."""
        record = {**asdict(self), "directory": None}
        path = self.directory / EXPORT_RECORD_FILENAME
        path.write_text(json.dumps(record, indent=2, sort_keys=True))
        return path

    def summary(self) -> str:
        """Format, signature, parity and digest, one line each (what the notebooks print)."""
        return "\n".join(
            [
                f"ONNX opset {self.opset}, IR version {self.ir_version}, producer {self.producer}",
                f"signature: {self.signature}",
                f"onnxruntime vs Keras on {self.parity_batch_size} held-out images: max abs diff "
                f"{self.parity_max_abs_diff:.2e} (allowed {self.parity_tolerance:g})",
                f"model.onnx: {self.size} bytes, sha256 {self.sha256}",
            ]
        )

    @classmethod
    def load(cls, directory: Path) -> ExportedModel:
        """Read the export.json that `save` wrote in `directory`."""
        record = json.loads((Path(directory) / EXPORT_RECORD_FILENAME).read_text())
        return cls(**{**record, "directory": Path(directory)})


def export_onnx(model: keras.Model, path: Path, *, opset: int = DEFAULT_OPSET) -> Path:
    """Convert `model` to ONNX at `opset` and write it to `path` (input x, output probabilities)."""
    import tensorflow as tf
    import tf2onnx

    spec = (tf.TensorSpec([None, 28, 28], tf.float32, name=INPUT_NAME),)

    @tf.function(input_signature=spec)
    def serve(x: tf.Tensor) -> dict[str, tf.Tensor]:
        return {OUTPUT_NAME: model(x, training=False)}

    try:
        proto, _ = tf2onnx.convert.from_function(serve, input_signature=spec, opset=opset)
    except Exception as exc:  # tf2onnx raises bare exceptions of many kinds
        raise ExportError(f"tf2onnx could not convert the model at opset {opset}: {exc}") from exc
    proto.producer_version = tf2onnx.__version__  # tf2onnx appends its git hash, "None" here
    for tensor in [*proto.graph.input, *proto.graph.output]:
        tensor.type.tensor_type.shape.dim[0].dim_param = BATCH_DIM
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(proto.SerializeToString())
    return path


def check_contract(path: Path) -> None:
    """Run onnx.checker and check the signature is the model contract's."""
    import onnx

    try:
        onnx.checker.check_model(str(path), full_check=True)
    except onnx.checker.ValidationError as exc:
        raise ExportError(f"{path} fails onnx.checker: {exc}") from exc
    signature = describe_onnx(path).signature()
    if signature != CONTRACT_SIGNATURE:
        raise ExportError(f"{path} has signature {signature}, expected {CONTRACT_SIGNATURE}")


def onnx_probabilities(path: Path, images: np.ndarray) -> np.ndarray:
    """Run the ONNX model with onnxruntime (CPU) on float32 images [n, 28, 28]."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
    return np.asarray(session.run([OUTPUT_NAME], {INPUT_NAME: batch})[0], dtype=np.float32)


def check_parity(
    path: Path, images: np.ndarray, expected: np.ndarray, tolerance: float = DEFAULT_TOLERANCE
) -> float:
    """Max abs difference between onnxruntime and `expected`; ParityError above `tolerance`."""
    difference = float(np.max(np.abs(onnx_probabilities(path, images) - expected)))
    if not difference <= tolerance:
        raise ParityError(
            f"onnxruntime differs from Keras by up to {difference:.3g} on {len(images)} "
            f"held-out images (allowed {tolerance:g}); refusing to publish {path}."
        )
    return difference


def export_model(
    model: keras.Model,
    directory: Path,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    opset: int = DEFAULT_OPSET,
    tolerance: float = DEFAULT_TOLERANCE,
    golden_count: int = DEFAULT_GOLDEN_COUNT,
) -> ExportedModel:
    """Export to directory/model.onnx, check contract and parity on held-out `images`,
    and write golden.npz, requirements.txt and export.json beside it."""
    from training.models import predict_probabilities

    directory = Path(directory)
    onnx_path = export_onnx(model, directory / MODEL_FILENAME, opset=opset)
    check_contract(onnx_path)
    expected = predict_probabilities(model, images)
    difference = check_parity(onnx_path, images, expected, tolerance)
    golden = GoldenSet(
        images[:golden_count], expected[:golden_count], labels[:golden_count], tolerance
    )
    write_golden(directory / GOLDEN_FILENAME, golden)
    versions = package_versions()
    (directory / REQUIREMENTS_FILENAME).write_text(requirements_text(versions))
    exported = describe_export(directory, difference, len(images), tolerance, versions)
    exported.save()
    return exported


def describe_export(
    directory: Path, difference: float, batch_size: int, tolerance: float, versions: dict[str, str]
) -> ExportedModel:
    """The ExportedModel record of an export directory whose parity was measured."""
    onnx_path = directory / MODEL_FILENAME
    description = describe_onnx(onnx_path)
    digest = file_digest(onnx_path)
    return ExportedModel(
        directory=directory,
        opset=description.opset,
        ir_version=description.ir_version,
        producer=description.producer,
        signature=description.signature(),
        sha256=digest.sha256,
        size=digest.size,
        parity_max_abs_diff=difference,
        parity_batch_size=batch_size,
        parity_tolerance=tolerance,
        versions=versions,
    )


def heldout_batch(
    images: np.ndarray, labels: np.ndarray, size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """The first `size` test images (float32) and labels: never seen in training."""
    return np.asarray(images[:size], dtype=np.float32), np.asarray(labels[:size])
