"""The two Keras models: shapes, training history, accuracy targets on the offline data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.data import MnistData
from training.models import (
    MODEL_KINDS,
    TrainingParams,
    UnknownModelKindError,
    build_model,
    evaluate_model,
    load_model,
    predict_probabilities,
    save_model,
    train_model,
)


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_build_model_takes_images_and_outputs_softmax(kind: str) -> None:
    model = build_model(kind)
    probabilities = predict_probabilities(model, np.zeros((3, 28, 28), np.float32))
    assert probabilities.shape == (3, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_build_model_rejects_unknown_kind() -> None:
    with pytest.raises(UnknownModelKindError, match="choose one of"):
        build_model("transformer")


def test_train_model_records_params_and_history(small_mnist: MnistData) -> None:
    params = TrainingParams(epochs=2, batch_size=128)
    _, run = train_model("dense", small_mnist, params, verbose=0)
    assert run.kind == "dense"
    assert run.params == params
    assert len(run.history["accuracy"]) == 2
    assert len(run.history["val_accuracy"]) == 2
    assert run.seconds > 0


def test_evaluate_model_beats_chance_after_short_training(
    trained_models: dict[str, object], small_mnist: MnistData
) -> None:
    for model in trained_models.values():
        assert 0.5 < evaluate_model(model, small_mnist) <= 1.0


def test_save_model_round_trips_predictions(
    trained_models: dict[str, object], small_mnist: MnistData, tmp_path: Path
) -> None:
    path = save_model(trained_models["cnn"], tmp_path / "steps" / "model.keras")
    restored = load_model(path)
    images = small_mnist.x_test[:8]
    np.testing.assert_allclose(
        predict_probabilities(restored, images),
        predict_probabilities(trained_models["cnn"], images),
        atol=1e-6,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "target"), [("dense", 0.92), ("cnn", 0.97)])
def test_train_model_reaches_target_accuracy_on_offline_data(
    kind: str, target: float, offline_mnist: MnistData
) -> None:
    model, _ = train_model(kind, offline_mnist, TrainingParams(), verbose=0)
    assert evaluate_model(model, offline_mnist) >= target
