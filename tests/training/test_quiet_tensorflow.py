"""training/__init__: no `failed call to cuInit` error from TensorFlow on a machine without a GPU
(the executed notebooks' outputs are checked in tests/notebooks/test_notebook_runs.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import training


def test_cpu_machine_hides_tensorflow_cuda_probe_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(training, "NVIDIA_DRIVER", tmp_path / "no-driver")
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    training.quiet_cuda_probe_on_cpu()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"


def test_a_log_level_already_set_is_kept(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(training, "NVIDIA_DRIVER", tmp_path / "no-driver")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    training.quiet_cuda_probe_on_cpu()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_gpu_machine_keeps_tensorflow_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(training, "NVIDIA_DRIVER", tmp_path)
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    training.quiet_cuda_probe_on_cpu()
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
