"""Alembic environment: runs on the connection `registry_local.database.migrate` passes in."""

from __future__ import annotations

from alembic import context

from registry_local.database import VERSION_TABLE
from registry_local.schema import metadata


def run_migrations_online() -> None:
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
