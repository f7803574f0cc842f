"""Fixtures for the registry tests: an in-process app on a fresh SQLite database per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from registry_local.app import create_app
from registry_local.database import make_engine, migrate
from registry_local.settings import Settings

from .backends import empty_tables, scratch_database
from .support import Api, Factory


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (faster than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "registry.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    engine.dispose()
    return path


@pytest.fixture
def engine(migrated_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "registry.db"
    shutil.copy(migrated_template, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def server_databases() -> Iterator[dict[str, Engine]]:
    """Lazily created scratch databases on the PostgreSQL / MariaDB servers."""
    with ExitStack() as stack:
        yield _LazyDatabases(stack)


class _LazyDatabases(dict[str, Engine]):
    def __init__(self, stack: ExitStack) -> None:
        super().__init__()
        self.stack = stack

    def __missing__(self, backend: str) -> Engine:
        self[backend] = self.stack.enter_context(scratch_database(backend))
        return self[backend]


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgresql", marks=pytest.mark.db),
        pytest.param("mariadb", marks=pytest.mark.db),
    ]
)
def backend_engine(
    request: pytest.FixtureRequest, server_databases: dict[str, Engine], engine: Engine
) -> Engine:
    """The same registry schema on SQLite, PostgreSQL and MariaDB, empty for each test."""
    if request.param == "sqlite":
        return engine
    database = server_databases[request.param]
    empty_tables(database)
    return database


@pytest.fixture
def backend_api(backend_engine: Engine) -> Iterator[Api]:
    """An in-process API client on `backend_engine`."""
    app = create_app(Settings(), backend_engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client)


@pytest.fixture
def client(engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), engine), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def make(api: Api) -> Factory:
    return Factory(api)
