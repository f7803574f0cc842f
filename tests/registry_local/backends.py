"""Throw-away databases on PostgreSQL and MariaDB for the backend-parametrized tests.

Each test session creates its own database with a random name (so helpers sharing the
servers never collide), migrates it once and drops it at the end; tests empty its tables.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from registry_local.database import make_engine, migrate

ADMIN_URLS = {
    "postgresql": os.environ.get(
        "MR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mariadb": os.environ.get("MR_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
TABLES = ("properties", "metric_history", "attributions", "serve_models", "artifacts", "contexts")


@contextmanager
def scratch_database(backend: str) -> Iterator[Engine]:
    """A fresh, migrated database on `backend`, dropped afterwards."""
    admin_url = make_url(ADMIN_URLS[backend])
    name = f"mr_test_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    charset = " CHARACTER SET utf8mb4" if backend == "mariadb" else ""
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}{charset}"))
    engine = make_engine(admin_url.set(database=name).render_as_string(hide_password=False))
    try:
        migrate(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE {name}"))
        admin.dispose()


def empty_tables(engine: Engine) -> None:
    """Delete every row and restart the id sequences, so each test sees fresh ids."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
            return
        connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
        for table in TABLES:
            connection.execute(text(f"TRUNCATE TABLE {table}"))
        connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))
