"""Server settings: declared once, each with a CLI flag, an environment variable and help.

A CLI flag beats the environment variable, which beats the default. Built in `main()` only.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"not a boolean: {text!r}")


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise ValueError(f"must be positive: {text!r}")
    return value


def parse_threads(text: str) -> int | None:
    """A thread count (0 and up), or None for `auto`."""
    if text.strip().lower() == "auto":
        return None
    value = int(text)
    if value < 0:
        raise ValueError(f"must be 0 or more, or auto: {text!r}")
    return value


@dataclass(frozen=True)
class Setting:
    """One setting: its attribute, flag, environment variable, default and help text."""

    name: str
    env: str
    default: str | None
    help: str
    parse: Callable[[str], Any] = str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS = (
    Setting("host", "MR_HOST", "127.0.0.1", "interface to listen on"),
    Setting("port", "MR_PORT", "8080", "TCP port to listen on", positive_int),
    Setting(
        "database_url",
        "MR_DATABASE_URL",
        "sqlite:///.state/registry.db",
        "SQLAlchemy database URL: sqlite:///PATH (relative to the working directory), "
        "postgresql+psycopg://USER@HOST:PORT/DB or mysql+pymysql://USER@HOST:PORT/DB; "
        "the schema is created or upgraded at startup",
    ),
    Setting(
        "auth_token",
        "MR_AUTH_TOKEN",
        None,
        "if set, every request but the /readyz/health probe must send 'Authorization: Bearer "
        "TOKEN', or gets 401 (prefer the env var: flags are visible in the process list)",
    ),
    Setting(
        "max_body_bytes",
        "MR_MAX_BODY_BYTES",
        "4194304",
        "largest request body accepted; larger ones get 413",
        positive_int,
    ),
    Setting(
        "db_threads",
        "MR_DB_THREADS",
        "auto",
        "threads that run database work off the event loop, so requests overlap their database "
        "round trips; 0 runs it on the loop; auto: 0 for SQLite (one writer anyway, and the "
        "thread hop costs more than it saves), 4 for PostgreSQL and MySQL",
        parse_threads,
    ),
    Setting("log_level", "MR_LOG_LEVEL", "info", "uvicorn log level (debug, info, warning, ...)"),
    Setting(
        "access_log",
        "MR_ACCESS_LOG",
        "false",
        "log every request (true/false; off by default, it costs about 10%% of throughput)",
        parse_bool,
    ),
)


@dataclass(frozen=True)
class Settings:
    """Everything the registry server needs to start."""

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str = "sqlite:///.state/registry.db"
    auth_token: str | None = None
    max_body_bytes: int = 4 * 1024 * 1024
    db_threads: int | None = None
    """None: chosen by the database backend (`database_threads`)."""
    log_level: str = "info"
    access_log: bool = False


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m registry_local",
        description="Model Registry server speaking the Kubeflow Model Registry REST API "
        "(/api/model_registry/v1alpha3, /v1 and /v1alpha1). Each flag can also be set "
        "with the environment variable shown; a flag wins over the variable.",
    )
    for setting in SETTINGS:
        default = "unset" if setting.default is None else setting.default
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            default=None,
            help=f"{setting.help} [env {setting.env}; default {default}]",
        )
    return parser


def build_settings(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Settings:
    """Settings from flags, then environment variables, then defaults."""
    parser = argument_parser()
    arguments = vars(parser.parse_args(argv))
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = arguments[setting.name]
        if raw is None:
            raw = environ.get(setting.env, setting.default)
        if raw is None:
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            parser.error(f"{setting.flag} / {setting.env}: {exc}")
    return Settings(**values)


SERVER_DATABASE_THREADS = 4


def database_threads(settings: Settings, backend: str) -> int:
    """How many threads run database work: the setting, or the backend's default."""
    if settings.db_threads is not None:
        return settings.db_threads
    return 0 if backend == "sqlite" else SERVER_DATABASE_THREADS
