"""Two registry_local processes on one PostgreSQL / MariaDB database serve consistent data.

Concurrent writers go through both servers at once; afterwards every acknowledged write reads
back identically from both, ids and names are unique, and name races end in one 201 + 409s.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import pytest
from scale_servers import registry_process, scratch_database_url
from scale_workload import api_client, check_all, create_shared, run_workload

pytestmark = [pytest.mark.server, pytest.mark.db]

WORKERS_PER_SERVER = 4
STEPS = 48
RACES = 5


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_write_through_two_servers_consistent_on_shared_database(
    backend: str, tmp_path: Path
) -> None:
    with ExitStack() as stack:
        database_url = stack.enter_context(scratch_database_url(backend))
        urls = [
            stack.enter_context(registry_process(database_url, tmp_path / f"registry-{i}.log"))
            for i in range(2)
        ]
        servers = [stack.enter_context(api_client(url)) for url in urls]
        clients = [stack.enter_context(api_client(url)) for url in urls * WORKERS_PER_SERVER]
        shared = create_shared(servers[0], backend)
        run = run_workload(clients, shared, STEPS, RACES)
        print(f"{backend}: {run.summary()}")
        check_all(servers, run, shared, RACES)
