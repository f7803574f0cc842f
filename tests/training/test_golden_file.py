"""The golden file format the inference server reads."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.golden import GoldenFileError, GoldenSet, read_golden, write_golden


def make_golden(count: int = 4) -> GoldenSet:
    rng = np.random.default_rng(0)
    probabilities = rng.random((count, 10), dtype=np.float32)
    labels = np.arange(count, dtype=np.uint8)
    return GoldenSet(rng.random((count, 28, 28), dtype=np.float32), probabilities, labels)


def test_read_golden_from_bytes_round_trips(tmp_path: Path) -> None:
    golden = make_golden()
    path = write_golden(tmp_path / "golden.npz", golden)
    loaded = read_golden(path.read_bytes())
    np.testing.assert_array_equal(loaded.x, golden.x)
    np.testing.assert_array_equal(loaded.probabilities, golden.probabilities)
    assert loaded.labels.dtype == np.uint8
    assert loaded.tolerance == 1e-5


def test_golden_matches_only_within_tolerance() -> None:
    golden = make_golden()
    assert golden.matches(golden.probabilities + 5e-6)
    assert not golden.matches(golden.probabilities + 5e-5)


def test_read_golden_rejects_missing_array(tmp_path: Path) -> None:
    path = tmp_path / "golden.npz"
    np.savez(path, x=np.zeros((1, 28, 28), np.float32))
    with pytest.raises(GoldenFileError, match="lacks array"):
        read_golden(path)


def test_write_golden_rejects_mismatched_shapes(tmp_path: Path) -> None:
    golden = make_golden()
    bad = GoldenSet(golden.x, golden.probabilities[:2], golden.labels)
    with pytest.raises(GoldenFileError, match="expected"):
        write_golden(tmp_path / "golden.npz", bad)
