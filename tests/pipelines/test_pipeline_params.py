"""Run parameters and runner settings: defaults, precedence, and every bad value refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.params import InvalidParametersError, PipelineParams
from pipelines.settings import SETTINGS, RunSettings, credentials_env
from pipelines.steps import StepError, train_step, validate_step


def test_check_params_defaults_pass() -> None:
    params = PipelineParams().check()
    assert (params.kind, params.epochs, params.min_accuracy) == ("dense", 3, 0.9)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "rnn"}, "kind 'rnn' is unknown, choose one of dense, cnn"),
        ({"epochs": -1}, "epochs must be a whole number from 1 to 1000 (got -1)"),
        ({"epochs": 0}, "epochs must be a whole number from 1 to 1000 (got 0)"),
        ({"learning_rate": 0.0}, "learning rate must be above 0 and at most 1 (got 0.0)"),
        ({"learning_rate": float("nan")}, "learning rate must be above 0"),
        ({"min_accuracy": 1.5}, "minimum accuracy must be between 0 and 1 (got 1.5)"),
        ({"min_accuracy": -0.1}, "minimum accuracy must be between 0 and 1 (got -0.1)"),
        ({"model_name": " "}, "model name must not be empty"),
        ({"registry_url": "localhost:8080"}, "registry URL must start with http://"),
        ({"s3_endpoint": "ftp://x"}, "S3 endpoint must start with http://"),
        ({"s3_bucket": "Bad_Bucket"}, "S3 bucket 'Bad_Bucket' is not a valid bucket name"),
    ],
)
def test_check_params_bad_value_refused(changes: dict[str, object], message: str) -> None:
    params = PipelineParams(**changes)  # type: ignore[arg-type]
    with pytest.raises(InvalidParametersError, match="invalid pipeline parameters") as caught:
        params.check()
    assert message in str(caught.value)
    assert caught.value.exit_code == 2


def test_check_params_lists_every_problem() -> None:
    with pytest.raises(InvalidParametersError) as caught:
        PipelineParams(kind="rnn", epochs=-1, min_accuracy=2.0).check()
    assert len(caught.value.problems) == 3


def test_check_params_empty_s3_location_means_environment() -> None:
    assert PipelineParams(s3_endpoint="", s3_bucket="").problems() == []


def clear_settings_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)


def test_load_run_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings_env(monkeypatch)
    settings = RunSettings.load()
    assert settings.params.registry_url == "http://localhost:8080"
    assert settings.params.s3_endpoint == "http://localhost:9000"
    assert settings.params.s3_bucket == "models"
    assert settings.pipeline_root == Path(".state") / "pipeline-runs"


def test_load_run_settings_flag_beats_env_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings_env(monkeypatch)
    monkeypatch.setenv("PIPELINE_EPOCHS", "7")
    monkeypatch.setenv("MODEL_REGISTRY_URL", "http://from-env:1")
    monkeypatch.setenv("AWS_S3_BUCKET", "from-env")
    settings = RunSettings.load({"epochs": "2", "registry_url": None})
    assert settings.params.epochs == 2
    assert settings.params.registry_url == "http://from-env:1"
    assert settings.params.s3_bucket == "from-env"


def test_load_run_settings_non_number_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_settings_env(monkeypatch)
    monkeypatch.setenv("PIPELINE_MIN_ACCURACY", "high")
    with pytest.raises(InvalidParametersError, match="PIPELINE_MIN_ACCURACY must be a number"):
        RunSettings.load()


def test_credentials_env_fills_only_missing() -> None:
    env = credentials_env({"AWS_ACCESS_KEY_ID": "mine", "AWS_SECRET_ACCESS_KEY": ""})
    assert env == {
        "AWS_ACCESS_KEY_ID": "mine",
        "AWS_SECRET_ACCESS_KEY": "demo-secret-key",
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def test_train_step_bad_kind_refused_before_training(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="kind 'rnn' is unknown"):
        train_step("rnn", 1, 0.001, tmp_path)


def test_validate_step_bad_threshold_refused(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="minimum accuracy must be between 0 and 1"):
        validate_step(tmp_path, 1.5)
