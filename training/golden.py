"""The golden file: a few test images with the probabilities the trained model gave them.

Uploaded beside `model.onnx` so whoever loads the model (the inference server) can check it
computes the same thing. Format: a NumPy `.npz` (no pickles) holding

- `x`: float32 [n, 28, 28], values 0..1 (the model input `x`),
- `probabilities`: float32 [n, 10], what Keras computed for `x` at training time,
- `labels`: uint8 [n], the true digits,
- `tolerance`: float64 scalar, the max abs difference the check allows (1e-5).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

GOLDEN_FILENAME = "golden.npz"
DEFAULT_TOLERANCE = 1e-5
DEFAULT_GOLDEN_COUNT = 32


class GoldenFileError(ValueError):
    """A golden file is missing an array or has the wrong shapes."""


@dataclass(frozen=True)
class GoldenSet:
    """Inputs, expected probabilities, true labels and the allowed difference."""

    x: np.ndarray
    probabilities: np.ndarray
    labels: np.ndarray
    tolerance: float = DEFAULT_TOLERANCE

    def max_abs_diff(self, predicted: np.ndarray) -> float:
        """Largest |predicted - expected| over every image and class."""
        return float(np.max(np.abs(np.asarray(predicted, np.float32) - self.probabilities)))

    def matches(self, predicted: np.ndarray) -> bool:
        return self.max_abs_diff(predicted) <= self.tolerance


def write_golden(path: Path, golden: GoldenSet) -> Path:
    """Write `golden` as an uncompressed .npz file."""
    check_golden(golden)
    with path.open("wb") as stream:
        np.savez(
            stream,
            x=golden.x.astype(np.float32),
            probabilities=golden.probabilities.astype(np.float32),
            labels=golden.labels.astype(np.uint8),
            tolerance=np.float64(golden.tolerance),
        )
    return path


def read_golden(source: Path | bytes) -> GoldenSet:
    """Read a golden file from a path or from its bytes (e.g. an S3 object body)."""
    stream = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with np.load(stream, allow_pickle=False) as archive:
            golden = GoldenSet(
                x=archive["x"],
                probabilities=archive["probabilities"],
                labels=archive["labels"],
                tolerance=float(archive["tolerance"]),
            )
    except KeyError as exc:
        raise GoldenFileError(f"golden file lacks array {exc}") from exc
    check_golden(golden)
    return golden


def check_golden(golden: GoldenSet) -> None:
    """Shapes must be x [n, 28, 28], probabilities [n, 10], labels [n]."""
    count = golden.x.shape[0] if golden.x.ndim == 3 else -1
    if golden.x.shape[1:] != (28, 28) or golden.probabilities.shape != (count, 10):
        raise GoldenFileError(
            f"golden shapes x {golden.x.shape}, probabilities {golden.probabilities.shape}; "
            "expected [n, 28, 28] and [n, 10]"
        )
    if golden.labels.shape != (count,):
        raise GoldenFileError(f"golden labels have shape {golden.labels.shape}, expected [{count}]")
