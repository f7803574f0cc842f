"""Engine creation (SQLite tuned for a single server process) and schema migrations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "registry_local_alembic_version"
SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA case_sensitive_like=ON",
)


def make_engine(database_url: str) -> Engine:
    """An engine for `database_url`; SQLite files get WAL, foreign keys and a busy timeout."""
    url = make_url(database_url)
    options: dict[str, Any] = {"json_serializer": lambda obj: orjson.dumps(obj).decode()}
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **options)
    memory = url.database in (None, "", ":memory:")
    if memory:
        options.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        Path(url.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **options)
    event.listen(engine, "connect", _sqlite_setup(wal=not memory))
    return engine


def _sqlite_setup(*, wal: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    return on_connect


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Create the schema, or upgrade an existing database in place, to `revision`."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
