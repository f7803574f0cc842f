"""Server settings: declared once, each with a CLI flag, an environment variable and help.

The shape (`contracts.settings`) is every part's: a CLI flag beats the environment variable,
which beats the default. Built in `main()` only. The default port is the registry URL's port
in the contracts every part agrees on (`contracts.defaults`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from contracts.defaults import REGISTRY_URL, port_of
from contracts.settings import (
    Setting,
    boolean,
    load_settings,
    positive_whole_number,
    settings_parser,
    whole_number,
)


def parse_threads(text: str) -> int | None:
    """A thread count (0 and up), or None for `auto`."""
    if text.strip().lower() == "auto":
        return None
    value = whole_number(text)
    if value < 0:
        raise ValueError(f"must be 0 or more, or auto (got {text!r})")
    return value


SETTINGS = (
    Setting("host", "MR_HOST", "127.0.0.1", "interface to listen on"),
    Setting(
        "port",
        "MR_PORT",
        str(port_of(REGISTRY_URL.default)),
        "TCP port to listen on",
        positive_whole_number,
    ),
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
        positive_whole_number,
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
        boolean,
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


def build_settings(argv: Sequence[str] | None, environ: Mapping[str, str]) -> Settings:
    """Settings from flags, then environment variables, then defaults."""
    parser = settings_parser(
        "python -m registry_local",
        "Model Registry server speaking the Kubeflow Model Registry REST API "
        "(/api/model_registry/v1alpha3, /v1 and /v1alpha1). Each flag can also be set "
        "with the environment variable shown; a flag wins over the variable.",
        SETTINGS,
    )
    values = load_settings(parser, SETTINGS, argv, environ)
    return Settings(**{name: value for name, value in values.items() if value is not None})


SERVER_DATABASE_THREADS = 4


def database_threads(settings: Settings, backend: str) -> int:
    """How many threads run database work: the setting, or the backend's default."""
    if settings.db_threads is not None:
        return settings.db_threads
    return 0 if backend == "sqlite" else SERVER_DATABASE_THREADS
