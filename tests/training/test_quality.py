"""Per-digit quality: the confusion matrix and the properties publishing records."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from training.data import REPO_TEST_DIR, read_idx_split
from training.quality import DigitQuality, confusion_matrix, onnx_quality


def constant_digit_model(digit: int, path: Path) -> Path:
    """A contract-honouring ONNX model (x [N,28,28] → probabilities [N,10]) always answering
    `digit`: zero weights, a bias that picks it."""
    bias = np.full(10, -5.0, dtype=np.float32)
    bias[digit] = 5.0
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "W"], ["scores"]),
        helper.make_node("Add", ["scores", "b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=-1),
    ]
    weights = [numpy_helper.from_array(np.zeros((784, 10), np.float32), "W"),
               numpy_helper.from_array(bias, "b")]  # fmt: skip
    graph = helper.make_graph(
        nodes, "constant", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 28, 28])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])], weights,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_confusion_matrix_counts_true_rows_and_predicted_columns() -> None:
    matrix = confusion_matrix(np.array([0, 0, 1, 9]), np.array([0, 7, 1, 4]))
    assert matrix.shape == (10, 10)
    assert matrix[0, 0] == 1
    assert matrix[0, 7] == 1
    assert matrix[1, 1] == 1
    assert matrix[9, 4] == 1
    assert matrix.sum() == 4


@pytest.mark.parametrize(
    ("labels", "predicted"),
    [([0, 1], [0]), ([0, 10], [0, 1]), ([-1], [0]), ([[0]], [[0]])],
    ids=["lengths differ", "not a digit", "negative", "not one-dimensional"],
)
def test_confusion_matrix_refuses_bad_input(labels: list, predicted: list) -> None:
    with pytest.raises(ValueError, match="labels|digits"):
        confusion_matrix(np.array(labels), np.array(predicted))


def test_properties_hold_each_digit_and_the_matrix_as_json() -> None:
    quality = DigitQuality(confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])))
    properties = quality.properties()
    assert properties["accuracy_digit_0"] == 0.5
    assert properties["accuracy_digit_1"] == 1.0
    assert "accuracy_digit_2" not in properties  # no test image of a 2: nothing to say
    matrix = json.loads(str(properties["confusion_matrix"]))
    assert len(matrix) == 10
    assert all(len(row) == 10 for row in matrix)
    assert matrix[0][:2] == [1, 1]


def test_onnx_quality_runs_the_model_on_the_shipped_test_set(tmp_path: Path) -> None:
    quality = onnx_quality(constant_digit_model(3, tmp_path / "model.onnx"))
    _, labels = read_idx_split(REPO_TEST_DIR, "t10k")
    assert int(quality.confusion.sum()) == len(labels) == 10_000
    assert quality.confusion[:, 3].tolist() == np.bincount(labels, minlength=10).tolist()
    assert quality.per_digit == [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
