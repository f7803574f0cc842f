"""The one setting shape: flag > environment > default, parsers, and refusals that name
the flag and the variable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contracts.settings import (
    Setting,
    boolean,
    comma_list,
    http_url,
    load_settings,
    number,
    path,
    port_number,
    positive_seconds,
    positive_whole_number,
    resolve,
    settings_parser,
    whole_number,
)

TABLE = (
    Setting("port", "DEMO_PORT", "8080", "TCP port.", positive_whole_number),
    Setting("token", "DEMO_TOKEN", None, "Bearer token."),
    Setting("bucket", "DEMO_BUCKET", "models", "S3 bucket."),
)


def test_flag_beats_environment_beats_default() -> None:
    environ = {"DEMO_PORT": "9000", "DEMO_BUCKET": "from-env"}
    values = resolve(TABLE, {"port": "9100", "token": None}, environ)
    assert values == {"port": 9100, "token": None, "bucket": "from-env"}
    assert resolve(TABLE, {}, {}) == {"port": 8080, "token": None, "bucket": "models"}


def test_a_variable_set_empty_counts_as_set() -> None:
    assert resolve(TABLE, {}, {"DEMO_BUCKET": "", "DEMO_TOKEN": ""})["bucket"] == ""


@pytest.mark.parametrize(
    ("flags", "environ", "message"),
    [
        ({"port": "eighty"}, {}, "--port / DEMO_PORT must be a whole number (got 'eighty')"),
        ({}, {"DEMO_PORT": "0"}, "--port / DEMO_PORT must be a positive whole number (got '0')"),
    ],
)
def test_a_bad_value_names_the_flag_and_the_variable(
    flags: dict[str, str], environ: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        resolve(TABLE, flags, environ)
    assert resolve(TABLE, {}, {"DEMO_PORT": "1"})["port"] == 1


def test_help_names_every_flag_variable_and_default() -> None:
    text = " ".join(settings_parser("demo", "A demo.", TABLE).format_help().split())
    for setting in TABLE:
        assert setting.flag in text
        assert f"env {setting.env};" in text
    assert "default unset" in text
    assert "default '8080'" in text


def test_load_settings_exits_with_the_usage_on_a_bad_value(
    capsys: pytest.CaptureFixture[str],
) -> None:
    parser = settings_parser("demo", "A demo.", TABLE)
    assert load_settings(parser, TABLE, ["--port", "81"], {})["port"] == 81
    with pytest.raises(SystemExit):
        load_settings(parser, TABLE, [], {"DEMO_PORT": "-1"})
    assert "DEMO_PORT must be a positive whole number" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("parse", "text", "value"),
    [
        (boolean, "Yes", True),
        (boolean, "off", False),
        (boolean, "", False),
        (comma_list, "a, b,,", ("a", "b")),
        (whole_number, " 42 ", 42),
        (port_number, "0", 0),
        (port_number, "65535", 65535),
        (number, "1e-3", 0.001),
        (positive_seconds, "2.5", 2.5),
        (http_url, "http://registry:8080/", "http://registry:8080"),
        (path, ".state", Path(".state")),
    ],
)
def test_parsers_accept(parse: Callable[[str], Any], text: str, value: Any) -> None:
    assert parse(text) == value


@pytest.mark.parametrize(
    ("parse", "text", "reason"),
    [
        (boolean, "sometimes", "must be a boolean"),
        (whole_number, "1.5", "must be a whole number"),
        (positive_whole_number, "-1", "must be a positive whole number"),
        (port_number, "-1", "must be a port number, 0 to 65535"),
        (port_number, "65536", "must be a port number, 0 to 65535"),
        (port_number, "http", "must be a whole number"),
        (number, "nan", "must be a number"),
        (positive_seconds, "soon", "must be a number of seconds"),
        (positive_seconds, "0", "must be a positive number of seconds"),
        (http_url, "localhost:8080", "must be an http"),
    ],
)
def test_parsers_refuse(parse: Callable[[str], Any], text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse(text)
