"""App settings: flag > env var > default, bad values rejected, every setting documented."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import SETTINGS, AppSettings, SettingsError, settings_parser
from app.settings_page import settings_markdown


def test_load_settings_uses_defaults() -> None:
    settings = AppSettings.load([], environ={})
    assert settings == AppSettings(
        registry_url="http://localhost:8080", environment="local", runtime="mmserver1", timeout=10.0
    )


def test_load_settings_reads_env_vars() -> None:
    environ = {"MODEL_REGISTRY_URL": "http://registry:9090/", "SERVING_ENVIRONMENT": "staging",
               "SERVING_RUNTIME": "ovms", "APP_REQUEST_TIMEOUT": "2.5"}  # fmt: skip
    settings = AppSettings.load([], environ=environ)
    assert settings.registry_url == "http://registry:9090"
    assert settings.environment == "staging"
    assert settings.runtime == "ovms"
    assert settings.timeout == 2.5


def test_load_settings_prefers_flags_over_env_vars() -> None:
    argv = ["--registry-url", "http://flag:1", "--environment", "from-flag"]
    environ = {"MODEL_REGISTRY_URL": "http://env:2", "SERVING_ENVIRONMENT": "from-env"}
    settings = AppSettings.load(argv, environ=environ)
    assert settings.registry_url == "http://flag:1"
    assert settings.environment == "from-flag"


def test_load_settings_ignores_unknown_flags() -> None:
    assert AppSettings.load(["--theme", "dark"], environ={}).environment == "local"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"MODEL_REGISTRY_URL": "localhost:8080"}, "MODEL_REGISTRY_URL must be an http"),
        ({"APP_REQUEST_TIMEOUT": "soon"}, "APP_REQUEST_TIMEOUT must be a number"),
        ({"APP_REQUEST_TIMEOUT": "0"}, "APP_REQUEST_TIMEOUT must be a positive"),
    ],
    ids=["url-without-scheme", "timeout-not-a-number", "timeout-zero"],
)
def test_load_settings_rejects_bad_value(environ: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        AppSettings.load([], environ=environ)


def test_settings_are_documented_in_help() -> None:
    help_text = settings_parser().format_help()
    for setting in SETTINGS:
        assert setting.help
        assert setting.flag in help_text
        assert setting.env in help_text


def test_settings_page_table_lists_every_setting() -> None:
    table = settings_markdown(AppSettings.load([], environ={"SERVING_ENVIRONMENT": "staging"}))
    for setting in SETTINGS:
        assert f"| `{setting.env}` | `{setting.flag}` |" in table
        assert setting.help in table
    assert "| `staging` | `local` |" in table


def test_settings_are_documented_in_app_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "app" / "README.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.env}`" in readme
        assert f"`{setting.flag}`" in readme
