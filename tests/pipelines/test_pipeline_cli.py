"""`python -m pipelines.run` refuses bad parameters and unreachable servers before running."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.run import EXIT_FAILED, EXIT_INVALID, build_parser, main
from pipelines.settings import SETTINGS
from pipelines.steps import next_version_name
from stack.proc import free_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh STATE_DIR; no pipeline setting comes from the caller's environment."""
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "rnn"], "kind 'rnn' is unknown, choose one of dense, cnn"),
        (["--epochs", "-1"], "epochs must be a whole number from 1 to 1000 (got -1)"),
        (["--epochs", "three"], "--epochs / PIPELINE_EPOCHS must be a whole number"),
        (["--min-accuracy", "1.5"], "minimum accuracy must be between 0 and 1 (got 1.5)"),
        (["--min-accuracy", "-0.2"], "minimum accuracy must be between 0 and 1 (got -0.2)"),
        (["--learning-rate", "0"], "learning rate must be above 0"),
        (["--registry-url", "localhost"], "registry URL must start with http://"),
    ],
)
def test_run_cli_bad_parameter_refused_before_running(
    state_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(args) == EXIT_INVALID
    error = capsys.readouterr().err
    assert message in error
    assert "Nothing was run." in error
    assert not state_dir.exists()


def test_run_cli_bad_env_value_refused(
    state_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PIPELINE_MODEL_KIND", "svm")
    assert main([]) == EXIT_INVALID
    assert "kind 'svm' is unknown" in capsys.readouterr().err


def test_run_cli_unreachable_registry_exits_1(
    state_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    assert main(["--registry-url", url]) == EXIT_FAILED
    error = capsys.readouterr().err
    assert f"Cannot reach the model registry at {url}" in error
    assert "MODEL_REGISTRY_URL" in error
    assert not state_dir.exists()


@pytest.mark.server
def test_run_cli_unreachable_s3_exits_1(
    state_dir: Path, registry_server: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    args = ["--registry-url", registry_server.url, "--s3-endpoint", endpoint]
    assert main(args) == EXIT_FAILED
    error = capsys.readouterr().err
    assert f"Cannot reach the S3 endpoint {endpoint}" in error
    assert not state_dir.exists()


@pytest.mark.server
@pytest.mark.filterwarnings("ignore:User access token is missing")
def test_next_version_name_follows_highest_v_number(registry_server: Any) -> None:
    from model_registry import ModelRegistry

    registry = ModelRegistry(registry_server.url, author="test", is_secure=False)
    assert next_version_name(registry, "MNIST") == "v1"
    for name in ("v1", "v7", "candidate", "v9\n"):  # "v9\n" is not v<n>: no `$` anchor
        registry.register_model("MNIST", f"s3://models/MNIST/{name}/model.onnx", version=name,
                                model_format_name="onnx", model_format_version="1")  # fmt: skip
    assert next_version_name(registry, "MNIST") == "v8"


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_documented(setting: Any) -> None:
    assert setting.env in build_parser().format_help()
    assert f"`{setting.env}`" in (REPO / "pipelines" / "README.md").read_text()
