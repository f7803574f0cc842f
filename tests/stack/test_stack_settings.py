"""Demo settings: precedence and documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.__main__ import main as stack_main
from stack.settings import SETTINGS, StackSettings, port_of

REPO = Path(__file__).resolve().parents[2]


def test_load_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    settings = StackSettings.load()
    assert settings.registry_url == "http://localhost:8080"
    assert settings.serving_url == "http://localhost:8008"
    assert settings.s3_endpoint == "http://localhost:9000"
    assert settings.app_port == 8501
    assert settings.state_dir == Path(".state")


def test_load_settings_flag_beats_env_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIR", "/tmp/from-env")
    monkeypatch.setenv("APP_PORT", "9501")
    settings = StackSettings.load({"state_dir": "/tmp/from-flag", "app_port": None})
    assert settings.state_dir == Path("/tmp/from-flag")
    assert settings.app_port == 9501


def test_load_settings_bad_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_PORT", "eighty")
    with pytest.raises(ValueError, match="eighty"):
        StackSettings.load()


def test_cli_refuses_a_bad_setting_with_its_names(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("APP_PORT", "eighty")
    with pytest.raises(SystemExit) as exited:
        stack_main(["status"])
    assert exited.value.code == 2
    assert "--app-port / APP_PORT must be a whole number (got 'eighty')" in capsys.readouterr().err


@pytest.mark.parametrize("registry", ["localhost:5123", "localhost:5123/team"])
def test_oci_registry_url_and_port_leave_out_a_namespace(
    monkeypatch: pytest.MonkeyPatch, registry: str
) -> None:
    monkeypatch.setenv("OCI_REGISTRY", registry)
    settings = StackSettings.load()
    assert (settings.oci_url, settings.oci_port) == ("http://localhost:5123", 5123)
    assert settings.service_env()["OCI_REGISTRY"] == registry


@pytest.mark.parametrize(
    ("url", "port"),
    [("http://localhost:8080", 8080), ("http://example", 80), ("https://example", 443)],
)
def test_port_of_url(url: str, port: int) -> None:
    assert port_of(url) == port


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_documented_in_readme(setting: object) -> None:
    assert f"`{setting.env}`" in (REPO / "README.md").read_text()  # type: ignore[attr-defined]
