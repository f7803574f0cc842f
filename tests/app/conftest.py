"""Fixtures for the app's tests: the real MNIST test split and a fixed sample of it."""

from __future__ import annotations

import numpy as np
import pytest
from mnist_drawings import MnistTestSet, mnist_dir, read_idx


@pytest.fixture(scope="session")
def mnist_test_set() -> MnistTestSet:
    folder = mnist_dir()
    return MnistTestSet(
        images=read_idx(folder / "t10k-images-idx3-ubyte.gz"),
        labels=read_idx(folder / "t10k-labels-idx1-ubyte.gz"),
    )


@pytest.fixture(scope="session")
def sample_indices(mnist_test_set: MnistTestSet) -> np.ndarray:
    """A fixed random sample of 300 test digits (all classes)."""
    return np.random.default_rng(0).choice(len(mnist_test_set.labels), 300, replace=False)
