"""The one shape of a setting: a name, an environment variable, a default, help and a parser.

A CLI flag beats the environment variable, which beats the default; a variable set to the
empty string counts as set. Each part declares its table of Settings and resolves it in its
`main()`, never at import. A parser gets the raw text and raises ValueError with a reason
that reads after the setting's names ("must be a whole number (got 'x')").
"""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TRUE = frozenset({"1", "true", "yes", "on"})
FALSE = frozenset({"0", "false", "no", "off", ""})


@dataclass(frozen=True)
class Setting:
    """One documented setting: flag `--name-with-dashes`, `env`, `default` (None: unset)."""

    name: str
    env: str
    default: str | None
    help: str
    parse: Callable[[str], Any] = str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def value(self, flag: str | None, environ: Mapping[str, str]) -> Any:
        """The flag, else the environment variable, else the default; parsed (None stays)."""
        raw = flag if flag is not None else environ.get(self.env, self.default)
        if raw is None:
            return None
        try:
            return self.parse(raw)
        except ValueError as exc:
            raise ValueError(f"{self.flag} / {self.env} {exc}") from None


def boolean(text: str) -> bool:
    """1/true/yes/on or 0/false/no/off (any case; empty is false)."""
    lowered = text.strip().lower()
    if lowered in TRUE | FALSE:
        return lowered in TRUE
    raise ValueError(f"must be a boolean, true or false (got {text!r})")


def comma_list(text: str) -> tuple[str, ...]:
    """A comma-separated list, items stripped, empty items dropped."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def whole_number(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"must be a whole number (got {text!r})") from None


def positive_whole_number(text: str) -> int:
    value = whole_number(text)
    if value <= 0:
        raise ValueError(f"must be a positive whole number (got {text!r})")
    return value


def port_number(text: str) -> int:
    """A TCP port, 0 to 65535 (0: none, where the setting says so)."""
    value = whole_number(text)
    if not 0 <= value <= 65535:
        raise ValueError(f"must be a port number, 0 to 65535 (got {text!r})")
    return value


def number(text: str) -> float:
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueError(f"must be a number (got {text!r})") from None
    if math.isnan(value):
        raise ValueError(f"must be a number (got {text!r})")
    return value


def positive_seconds(text: str) -> float:
    try:
        seconds = number(text)
    except ValueError:
        raise ValueError(f"must be a number of seconds (got {text!r})") from None
    if seconds <= 0:
        raise ValueError(f"must be a positive number of seconds (got {text!r})")
    return seconds


def http_url(text: str) -> str:
    """An http(s) URL, without a trailing slash."""
    if not text.startswith(("http://", "https://")):
        raise ValueError(f"must be an http(s) URL (got {text!r})")
    return text.rstrip("/")


def path(text: str) -> Path:
    return Path(text)


def settings_parser(
    prog: str, description: str, table: Sequence[Setting], epilog: str | None = None
) -> argparse.ArgumentParser:
    """One flag per setting, its help naming the env var and the default; values resolve later."""
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog)
    for setting in table:
        default = "unset" if setting.default is None else repr(setting.default)
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            default=None,
            help=f"{setting.help} [env {setting.env}; default {default}]",
        )
    return parser


def resolve(
    table: Sequence[Setting],
    flags: Mapping[str, str | None],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Every setting's value: flag > environment (default: os.environ) > default.

    Raises ValueError naming the flag and variable of a bad value."""
    env = os.environ if environ is None else environ
    return {setting.name: setting.value(flags.get(setting.name), env) for setting in table}


def load_settings(
    parser: argparse.ArgumentParser,
    table: Sequence[Setting],
    argv: Sequence[str] | None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Parse `argv` and resolve `table`; a bad flag or value exits with the usage."""
    flags = vars(parser.parse_args(argv))
    try:
        return resolve(table, flags, environ)
    except ValueError as exc:
        parser.error(str(exc))
