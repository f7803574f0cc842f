"""Settings: every one documented in --help, flag > environment variable > default."""

from __future__ import annotations

import subprocess
import sys

import pytest

from registry_local.settings import SETTINGS, Settings, build_settings, database_threads


def test_help_documents_every_setting() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "registry_local", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = " ".join(result.stdout.split())
    for setting in SETTINGS:
        assert setting.flag in text
        assert setting.env in text
        assert setting.help.replace("%%", "%")[:40] in text


def test_settings_defaults() -> None:
    assert build_settings([], {}) == Settings()


def test_settings_default_host_is_loopback() -> None:
    assert build_settings([], {}).host == "127.0.0.1"
    assert build_settings([], {}).auth_token is None


def test_settings_flag_beats_environment_beats_default() -> None:
    environment = {"MR_PORT": "9000", "MR_HOST": "0.0.0.0", "MR_ACCESS_LOG": "yes"}
    settings = build_settings(["--port", "9100"], environment)
    assert (settings.port, settings.host, settings.access_log) == (9100, "0.0.0.0", True)
    assert settings.database_url == "sqlite:///.state/registry.db"
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert build_settings([], {"MR_DATABASE_URL": url}).database_url == url
    assert build_settings([], {"MR_AUTH_TOKEN": "t"}).auth_token == "t"


@pytest.mark.parametrize(
    ("argv", "environment"),
    [
        (["--port", "eighty"], {}),
        ([], {"MR_PORT": "-1"}),
        ([], {"MR_MAX_BODY_BYTES": "0"}),
        ([], {"MR_ACCESS_LOG": "sometimes"}),
        ([], {"MR_DB_THREADS": "-1"}),
        (["--db-threads", "many"], {}),
        (["--colour", "red"], {}),
    ],
)
def test_settings_bad_value_exits(argv: list[str], environment: dict[str, str]) -> None:
    with pytest.raises(SystemExit):
        build_settings(argv, environment)


@pytest.mark.parametrize(
    ("given", "backend", "threads"),
    [
        ("auto", "sqlite", 0),
        ("auto", "postgresql", 4),
        ("auto", "mysql", 4),
        ("AUTO", "postgresql", 4),
        ("0", "postgresql", 0),
        ("2", "sqlite", 2),
    ],
)
def test_database_threads_follow_the_backend_unless_set(
    given: str, backend: str, threads: int
) -> None:
    settings = build_settings(["--db-threads", given], {})
    assert database_threads(settings, backend) == threads
