"""Eight concurrent writers against one registry_local server, on SQLite (database work on
the event loop, and in 4 threads) and on PostgreSQL (4 database threads, the default there).

Each of the 8 threads runs 250 operations (about 2,100 writes in all, plus a read after every
PATCH) and then 6 name races; measured 1.2 s (SQLite) and 4.2 s (PostgreSQL) of load on the
shared 2-core machine. They create models, versions and artifacts and PATCH the same shared
objects: no 5xx, every 201 reads back as acknowledged, ids and names unique, name races end in
one 201 and 409s, and reads after each acknowledged PATCH see a strictly later
lastUpdateTimeSinceEpoch.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from scale_servers import backend_database_url, registry_process
from scale_workload import api_client, check_all, create_shared, run_workload

pytestmark = pytest.mark.server

WORKERS = 8
STEPS = 250
RACES = 6


@pytest.mark.parametrize(
    ("backend", "database_threads"),
    [
        ("sqlite", "auto"),  # database work on the event loop
        ("sqlite", "4"),  # in threads: a PATCH's read and write must share one transaction
        pytest.param("postgresql", "auto", marks=pytest.mark.db),  # 4 threads
    ],
)
def test_write_concurrently_nothing_lost(
    backend: str, database_threads: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        url = stack.enter_context(backend_database_url(backend, tmp_path))
        log = tmp_path / "registry.log"
        server = stack.enter_context(registry_process(url, log, "--db-threads", database_threads))
        reader = stack.enter_context(api_client(server))
        clients = [stack.enter_context(api_client(server)) for _ in range(WORKERS)]
        shared = create_shared(reader, backend)
        run = run_workload(clients, shared, STEPS, RACES)
        print(f"{backend} (database threads {database_threads}): {run.summary()}")
        check_all([reader], run, shared, RACES)
