"""ONNX export: the model contract, onnx.checker, and onnxruntime/Keras parity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from training.data import MnistData
from training.deps import describe_onnx, file_digest, parse_requirements
from training.export import (
    CONTRACT_SIGNATURE,
    DEFAULT_OPSET,
    ExportedModel,
    ExportError,
    ParityError,
    check_contract,
    check_parity,
    export_model,
    export_onnx,
    heldout_batch,
    onnx_probabilities,
)
from training.golden import read_golden
from training.models import predict_probabilities


@pytest.mark.parametrize("kind", ["dense", "cnn"])
def test_export_model_matches_keras_within_tolerance(
    kind: str, trained_models: dict[str, object], small_mnist: MnistData, tmp_path: Path
) -> None:
    images, labels = heldout_batch(small_mnist.x_test, small_mnist.test_labels, size=128)
    exported = export_model(trained_models[kind], tmp_path, images, labels)
    assert exported.parity_max_abs_diff <= 1e-5
    assert exported.parity_batch_size == 128
    keras_probabilities = predict_probabilities(trained_models[kind], images)
    onnx_output = onnx_probabilities(exported.onnx_path, images)
    assert onnx_output.shape == (128, 10)
    np.testing.assert_allclose(onnx_output, keras_probabilities, atol=1e-5)


def test_export_model_follows_contract_and_records_opset(exported_dense: ExportedModel) -> None:
    assert exported_dense.signature == CONTRACT_SIGNATURE
    assert exported_dense.opset == DEFAULT_OPSET
    model = onnx.load(str(exported_dense.onnx_path))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["probabilities"]
    assert exported_dense.producer.startswith("tf2onnx ")
    assert f"ONNX opset {DEFAULT_OPSET}," in exported_dense.summary()


def test_export_model_writes_golden_requirements_and_record(exported_dense: ExportedModel) -> None:
    golden = read_golden(exported_dense.golden_path)
    assert golden.x.shape == (32, 28, 28)
    assert golden.matches(onnx_probabilities(exported_dense.onnx_path, golden.x))
    pins = parse_requirements(exported_dense.requirements_path.read_text())
    assert pins == {k: v for k, v in exported_dense.versions.items() if k != "python"}
    digest = file_digest(exported_dense.onnx_path)
    assert (exported_dense.sha256, exported_dense.size) == (digest.sha256, digest.size)
    assert ExportedModel.load(exported_dense.directory) == exported_dense


@pytest.mark.parametrize("opset", [13, 15])
def test_export_onnx_uses_requested_opset(
    opset: int, trained_models: dict[str, object], tmp_path: Path
) -> None:
    path = export_onnx(trained_models["dense"], tmp_path / "model.onnx", opset=opset)
    assert describe_onnx(path).opset == opset


def test_export_onnx_rejects_unsupported_opset(
    trained_models: dict[str, object], tmp_path: Path
) -> None:
    with pytest.raises(ExportError, match="opset 99"):
        export_onnx(trained_models["dense"], tmp_path / "model.onnx", opset=99)


def test_check_parity_refuses_probabilities_that_differ(
    exported_dense: ExportedModel, small_mnist: MnistData
) -> None:
    images = small_mnist.x_test[:16]
    expected = onnx_probabilities(exported_dense.onnx_path, images) + 1e-3
    with pytest.raises(ParityError, match="refusing to publish"):
        check_parity(exported_dense.onnx_path, images, expected)


def test_check_parity_accepts_identical_probabilities(
    exported_dense: ExportedModel, small_mnist: MnistData
) -> None:
    images = small_mnist.x_test[:16]
    expected = onnx_probabilities(exported_dense.onnx_path, images)
    assert check_parity(exported_dense.onnx_path, images, expected) == 0.0


def test_check_contract_rejects_wrong_output_name(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["logits"])],
        "wrong",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 28, 28])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 28, 28])],
    )
    path = tmp_path / "wrong.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ExportError, match="expected"):
        check_contract(path)


def test_check_contract_rejects_invalid_onnx(tmp_path: Path) -> None:
    graph = helper.make_graph(
        [helper.make_node("NoSuchOp", ["x"], ["probabilities"])],
        "invalid",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 28, 28])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
    )
    path = tmp_path / "invalid.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(ExportError, match="onnx.checker"):
        check_contract(path)
