"""Settings: flag > env var > default, every setting documented, bad values refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.settings import Setting
from serving.controller.config import CONTROLLER_SETTINGS, ControllerSettings
from serving.settings import SERVER_SETTINGS, ServerSettings

README = Path(__file__).resolve().parents[2] / "serving" / "README.md"


def test_settings_flag_beats_env_beats_default() -> None:
    env = {"SERVING_PORT": "9001", "SERVING_MAX_BODY_BYTES": "77"}
    settings = ServerSettings.from_args(["--port", "9002"], env)
    assert settings.port == 9002
    assert settings.max_body_bytes == 77
    assert settings.host == "127.0.0.1"


def test_settings_allowed_buckets_join_bucket_and_extras() -> None:
    env = {"AWS_S3_BUCKET": "models", "SERVING_ALLOWED_BUCKETS": "a, b,"}
    assert ServerSettings.from_args([], env).allowed_buckets == {"models", "a", "b"}


def test_settings_defaults_match_the_dataclass() -> None:
    assert ServerSettings.from_args([], {}) == ServerSettings()


def test_settings_bad_value_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        ServerSettings.from_args([], {"SERVING_PORT": "eighty"})
    assert "SERVING_PORT" in capsys.readouterr().err


def test_controller_settings_defaults_and_precedence() -> None:
    assert ControllerSettings.from_args([], {}) == ControllerSettings()
    env = {"SERVING_RUNTIME": "a,b", "CONTROLLER_INTERVAL": "0.5"}
    settings = ControllerSettings.from_args(["--interval", "2", "--environment", "lab"], env)
    assert (settings.runtime, settings.interval, settings.environment) == (("a", "b"), 2.0, "lab")
    assert settings.owner == "model-controller/lab"
    assert settings.model_url("m") == "http://localhost:8008/v2/models/m"


@pytest.mark.parametrize("setting", [*SERVER_SETTINGS, *CONTROLLER_SETTINGS], ids=lambda s: s.name)
def test_settings_every_one_has_help_and_is_documented(setting: Setting) -> None:
    text = README.read_text()
    assert setting.help
    assert f"`{setting.flag}`" in text
    assert f"`{setting.env}`" in text
