"""The two Keras models of the demo (v1 dense, v2 convolutional), training and evaluation.

Both take float32 images [n, 28, 28] in 0..1 and end in a softmax, so what they output is
already the `probabilities` of the model contract.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.data import MnistData

if TYPE_CHECKING:
    import keras

MODEL_KINDS = ("dense", "cnn")


class UnknownModelKindError(ValueError):
    """The model kind is not one of MODEL_KINDS."""


@dataclass(frozen=True)
class TrainingParams:
    """Hyper-parameters of one training run (recorded with the model version)."""

    epochs: int = 15
    batch_size: int = 32
    learning_rate: float = 1e-3
    seed: int = 42


@dataclass(frozen=True)
class TrainingRun:
    """What `train_model` did: its parameters, per-epoch history and wall-clock seconds."""

    kind: str
    params: TrainingParams
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0


def build_dense() -> keras.Model:
    """v1: Flatten → Dense(128, relu) → Dense(32, relu) → Dense(10, softmax)."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28), name="x"),
            keras.layers.Flatten(),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="mnist_dense",
    )


def build_cnn() -> keras.Model:
    """v2: two Conv2D+MaxPool blocks → Dropout → Dense(10, softmax)."""
    import keras

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28), name="x"),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(16, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(10, activation="softmax", name="probabilities"),
        ],
        name="mnist_cnn",
    )


def build_model(kind: str) -> keras.Model:
    """A fresh, uncompiled model of `kind` ('dense' or 'cnn')."""
    builders = {"dense": build_dense, "cnn": build_cnn}
    if kind not in builders:
        raise UnknownModelKindError(f"Unknown model kind {kind!r}; choose one of {MODEL_KINDS}.")
    return builders[kind]()


def train_model(
    kind: str, data: MnistData, params: TrainingParams | None = None, *, verbose: int = 1
) -> tuple[keras.Model, TrainingRun]:
    """Build, compile and fit a `kind` model on the training split (seeded, reproducible)."""
    import keras

    params = params or TrainingParams()
    keras.utils.set_random_seed(params.seed)
    model = build_model(kind)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=params.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    started = time.perf_counter()
    history = model.fit(
        data.x_train,
        data.train_labels,
        epochs=params.epochs,
        batch_size=params.batch_size,
        validation_data=(data.x_test, data.test_labels),
        verbose=verbose,
    )
    seconds = time.perf_counter() - started
    curves = {name: [float(v) for v in values] for name, values in history.history.items()}
    return model, TrainingRun(kind, params, curves, seconds)


def save_model(model: keras.Model, path: Path) -> Path:
    """Save a trained model in Keras's format (`.keras`), e.g. between pipeline steps."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def load_model(path: Path) -> keras.Model:
    """Load a model written by `save_model`."""
    import keras

    return keras.models.load_model(Path(path))


def predict_probabilities(model: keras.Model, images: np.ndarray) -> np.ndarray:
    """Softmax probabilities [n, 10] (float32) for float32 images [n, 28, 28] in 0..1."""
    batch = np.asarray(images, dtype=np.float32).reshape(-1, 28, 28)
    return np.asarray(model.predict(batch, verbose=0), dtype=np.float32)


def evaluate_model(model: keras.Model, data: MnistData) -> float:
    """Accuracy on the test split."""
    predicted = predict_probabilities(model, data.x_test).argmax(axis=1)
    return float(np.mean(predicted == data.test_labels))
