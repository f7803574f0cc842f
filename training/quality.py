"""Per-digit quality of an exported model on the shipped 10k MNIST test set.

Publishing records it in the ModelVersion's customProperties, beside `test_accuracy`:
`accuracy_digit_0` … `accuracy_digit_9` (double: the share of each true digit the model gets
right) and `confusion_matrix` (a JSON string of 10×10 ints, row = true digit, column =
predicted digit). It runs the ONNX file that is published, with onnxruntime, on
`data/mnist/t10k-*` (the same images on every machine, whatever the training data was).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.data import REPO_TEST_DIR, read_idx_split, to_float

DIGITS = 10
CONFUSION_PROPERTY = "confusion_matrix"
DIGIT_PROPERTY = "accuracy_digit_{}"


@dataclass(frozen=True)
class DigitQuality:
    """How the model does on each true digit, from its confusion matrix."""

    confusion: np.ndarray
    """int64 [10, 10]: confusion[true, predicted]."""

    @property
    def per_digit(self) -> list[float | None]:
        """Accuracy per true digit (None for a digit the test set does not hold)."""
        totals = self.confusion.sum(axis=1)
        hits = np.diag(self.confusion)
        return [float(hits[d] / totals[d]) if totals[d] else None for d in range(DIGITS)]

    def properties(self) -> dict[str, float | str]:
        """The customProperties publishing records (digits without test images left out)."""
        found: dict[str, float | str] = {
            DIGIT_PROPERTY.format(digit): round(accuracy, 6)
            for digit, accuracy in enumerate(self.per_digit)
            if accuracy is not None
        }
        found[CONFUSION_PROPERTY] = json.dumps(self.confusion.tolist(), separators=(",", ":"))
        return found


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Counts of (true, predicted) pairs as a 10×10 int matrix; ValueError on bad input."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    if labels.shape != predicted.shape or labels.ndim != 1:
        raise ValueError(f"{labels.shape} labels for {predicted.shape} predictions")
    if labels.size and (min(labels.min(), predicted.min()) < 0 or
                        max(labels.max(), predicted.max()) >= DIGITS):  # fmt: skip
        raise ValueError("labels and predictions must be digits 0..9")
    matrix = np.zeros((DIGITS, DIGITS), dtype=np.int64)
    np.add.at(matrix, (labels.astype(np.int64), predicted.astype(np.int64)), 1)
    return matrix


def onnx_quality(onnx_path: Path, test_dir: Path = REPO_TEST_DIR) -> DigitQuality:
    """Run `onnx_path` with onnxruntime on the test set in `test_dir` (IDX t10k files)."""
    from training.export import onnx_probabilities

    images, labels = read_idx_split(test_dir, "t10k")
    predicted = onnx_probabilities(onnx_path, to_float(images)).argmax(axis=1)
    return DigitQuality(confusion_matrix(labels, predicted))
