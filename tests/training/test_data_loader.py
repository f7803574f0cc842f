"""The MNIST loader: MNIST_DIR (IDX, npz), the Keras path and the offline fallback."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

import training.data as data_module
from training.data import (
    SOURCE_MNIST_DIR,
    SOURCE_OFFLINE,
    DatasetError,
    MnistData,
    check_split,
    host_reachable,
    load_mnist,
    read_idx,
)
from training.lineage import Lineage
from training.models import TrainingParams, TrainingRun


def test_load_mnist_reads_gzipped_idx_from_mnist_dir_env(
    mnist_files: Callable[..., Path], small_mnist: MnistData, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = mnist_files(".gz", train=60, test=20)
    monkeypatch.setenv("MNIST_DIR", str(directory))
    data = load_mnist()
    assert data.source == SOURCE_MNIST_DIR
    assert (data.train_size, data.test_size) == (60, 20)
    np.testing.assert_array_equal(data.train_images, small_mnist.train_images[:60])
    np.testing.assert_array_equal(data.test_labels, small_mnist.test_labels[:20])


def test_load_mnist_reads_plain_idx_from_argument(mnist_files: Callable[..., Path]) -> None:
    data = load_mnist(mnist_files("", train=30, test=10))
    assert (data.train_size, data.test_size) == (30, 10)
    assert data.train_images.dtype == np.uint8
    assert data.train_images.shape == (30, 28, 28)


def test_load_mnist_reads_npz_from_mnist_dir(tmp_path: Path, small_mnist: MnistData) -> None:
    np.savez(
        tmp_path / "mnist.npz",
        x_train=small_mnist.train_images[:40],
        y_train=small_mnist.train_labels[:40],
        x_test=small_mnist.test_images[:10],
        y_test=small_mnist.test_labels[:10],
    )
    data = load_mnist(tmp_path)
    assert data.source == SOURCE_MNIST_DIR
    assert "mnist.npz" in data.description
    np.testing.assert_array_equal(data.test_images, small_mnist.test_images[:10])


def test_load_mnist_rejects_npz_missing_an_array(tmp_path: Path, small_mnist: MnistData) -> None:
    np.savez(tmp_path / "mnist.npz", x_train=small_mnist.train_images[:4])
    with pytest.raises(DatasetError, match="lacks array"):
        load_mnist(tmp_path)


def test_load_mnist_rejects_mnist_dir_without_files(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)


def test_load_mnist_rejects_mnist_dir_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="is not a directory"):
        load_mnist(tmp_path / "missing")


def test_read_idx_rejects_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "bad-idx"
    path.write_bytes(b"\x00\x00\x0d\x01" + (4).to_bytes(4, "big") + bytes(16))
    with pytest.raises(DatasetError, match="bad magic"):
        read_idx(path)


def test_read_idx_rejects_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "short-idx"
    header = b"\x00\x00\x08\x03" + b"".join(n.to_bytes(4, "big") for n in (3, 28, 28))
    path.write_bytes(header + bytes(3 * 28 * 28 - 10))
    with pytest.raises(DatasetError, match="its header says"):
        read_idx(path)


def test_check_split_rejects_label_count_mismatch() -> None:
    with pytest.raises(DatasetError, match="shapes differ"):
        check_split(np.zeros((3, 28, 28), np.uint8), np.zeros(2, np.uint8), "here")


def test_check_split_rejects_wrong_image_shape() -> None:
    with pytest.raises(DatasetError, match=r"expected \[n, 28, 28\]"):
        check_split(np.zeros((3, 784), np.uint8), np.zeros(3, np.uint8), "here")


def test_load_offline_returns_real_5k_train_and_10k_test(offline_mnist: MnistData) -> None:
    assert offline_mnist.source == SOURCE_OFFLINE
    assert (offline_mnist.train_size, offline_mnist.test_size) == (5000, 10000)
    assert np.bincount(offline_mnist.train_labels).tolist() == [500] * 10
    assert offline_mnist.test_labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    x = offline_mnist.x_train
    assert x.dtype == np.float32
    assert x.min() == 0.0
    assert x.max() == 1.0


def test_load_mnist_summary_names_source_and_sizes(offline_mnist: MnistData) -> None:
    summary = offline_mnist.summary()
    assert summary["dataset_source"] == SOURCE_OFFLINE
    assert summary["dataset_train_size"] == 5000
    assert summary["dataset_test_size"] == 10000


def test_lineage_records_the_data_summary_and_the_run(offline_mnist: MnistData) -> None:
    run = TrainingRun("cnn", TrainingParams(epochs=2), seconds=1.23456)
    lineage = Lineage.from_run(offline_mnist, run, 0.875)
    assert asdict(lineage) == {
        "model_kind": "cnn",
        "dataset_source": SOURCE_OFFLINE,
        "dataset_description": offline_mnist.description,
        "dataset_train_size": 5000,
        "dataset_test_size": 10000,
        "test_accuracy": 0.875,
        "training_params": {"epochs": 2, "batch_size": 32, "learning_rate": 1e-3, "seed": 42},
        "training_seconds": 1.235,
    }


@pytest.mark.timeout(60)
def test_load_mnist_falls_back_offline_when_keras_host_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(data_module, "KERAS_MNIST_HOST", "mnist-download.invalid")
    data = load_mnist(download_timeout=2.0)
    assert data.source == SOURCE_OFFLINE
    assert "mnist-download.invalid is not reachable" in data.description


def test_load_mnist_skips_download_when_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MNIST_DIR", raising=False)
    data = load_mnist(allow_download=False)
    assert data.source == SOURCE_OFFLINE
    assert "download disabled" in data.description


def test_host_reachable_true_for_listening_socket() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        assert host_reachable("127.0.0.1", server.getsockname()[1], timeout=2.0)


def test_host_reachable_false_for_closed_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    assert not host_reachable("127.0.0.1", port, timeout=2.0)
