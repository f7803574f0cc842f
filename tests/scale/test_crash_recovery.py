"""SIGKILL a registry_local server while 4 writers keep it busy, restart it, check the data.

Three rounds per backend (SQLite, PostgreSQL), each killing the server after a different
number of acknowledged writes, with writes in flight. After each restart on the same
database and port (no repair step: the server simply starts again):
- every write acknowledged with 201/200 before any kill reads back exactly as acknowledged;
- the PATCHed model shows the latest acknowledged PATCH (or one that was in flight);
- no model is torn: its customProperties document and the typed rows filterQuery reads agree;
- SQLite: `PRAGMA integrity_check` says ok and `PRAGMA foreign_key_check` finds nothing.
A SIGKILL is a process crash; power loss is not simulated (SQLite runs WAL with
synchronous=NORMAL, durable across process crashes, not necessarily across power loss).
"""

from __future__ import annotations

import sqlite3
from contextlib import ExitStack
from pathlib import Path

import pytest
from crash_workload import (
    CrashLedger,
    Write,
    check_created_readable,
    check_last_patch_kept,
    check_no_server_errors,
    check_properties_whole,
    committed_in_flight,
    write_then_kill,
)
from scale_servers import backend_database_url, kill_hard, registry_service
from scale_workload import Shared, api_client, create_shared

from stack.proc import ServiceProcess, free_port

pytestmark = pytest.mark.server

WRITERS = 4
KILL_AFTER = (40, 150, 400)  # acknowledged writes before each round's SIGKILL


def sqlite_integrity(database_url: str) -> tuple[list[str], list[object]]:
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    try:
        integrity = [row[0] for row in connection.execute("PRAGMA integrity_check")]
        foreign_keys = list(connection.execute("PRAGMA foreign_key_check"))
    finally:
        connection.close()
    return integrity, foreign_keys


def crash_round(
    server: ServiceProcess, url: str, shared: Shared, round_: int, kill_after: int
) -> CrashLedger:
    """Start the server, write until `kill_after` writes are acknowledged, SIGKILL it."""
    server.start().wait_healthy(timeout=60)
    with ExitStack() as stack:
        clients = [stack.enter_context(api_client(url)) for _ in range(WRITERS)]
        return write_then_kill(clients, shared, round_, kill_after, lambda: kill_hard(server))


def report(backend: str, round_: int, ledger: CrashLedger, committed: int) -> None:
    acknowledged, in_flight = len(ledger.acknowledged()), len(ledger.in_flight())
    refused = len(ledger.entries) - acknowledged - in_flight
    print(
        f"{backend} round {round_}: {acknowledged} writes acknowledged, {in_flight} in "
        f"flight at the kill ({committed} of their creates committed), {refused} refused"
    )


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.db)])
def test_kill_during_writes_loses_nothing_acknowledged(backend: str, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        database_url = stack.enter_context(backend_database_url(backend, tmp_path))
        server = stack.enter_context(registry_service(database_url, port, tmp_path / "reg.log"))
        server.start().wait_healthy(timeout=60)
        with api_client(url) as client:
            shared = create_shared(client, backend)
        server.stop()
        created: list[Write] = []
        for round_, kill_after in enumerate(KILL_AFTER):
            ledger = crash_round(server, url, shared, round_, kill_after)
            check_no_server_errors(ledger)
            created += ledger.created()
            server.start().wait_healthy(timeout=60)  # the restart: no repair step
            with api_client(url) as client:
                check_created_readable(client, created)
                check_last_patch_kept(client, shared, ledger)
                check_properties_whole(client, round_)
                report(backend, round_, ledger, committed_in_flight(client, ledger))
            server.stop()
            if backend == "sqlite":
                assert sqlite_integrity(database_url) == (["ok"], [])
