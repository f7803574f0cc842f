"""registry_local on PostgreSQL: database work on the event loop vs in threads (--db-threads).

Starts one registry_local per setting on a scratch PostgreSQL database (the tests' helper, on
MR_TEST_POSTGRES_URL's server), reached directly and through a TCP proxy that delays every
chunk by `--delay-ms` each way (a database on another host, as on a cluster), seeds one model
with 120 versions, and drives each with wrk (GET one version, list 100 versions; 1 and 8
connections, `--seconds` each). Prints requests/s per setting and the ratio threads/loop.
Run: `make bench-registry-threads` or `python -m bench.registry_threads`.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import secrets
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from bench.processes import running_server, tool
from bench.report import load_average, machine, started, table_row
from mr_client.urls import API, HEALTH
from stack.proc import free_port
from tests.registry_local.backends import scratch_database  # on MR_TEST_POSTGRES_URL's server

CASES = [("get one version", "model_versions/{version}"),
         ("list 100 versions", "model_versions?pageSize=100")]  # fmt: skip


async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy one direction, each chunk delivered `delay` seconds after it arrived."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                writer.close()
                return
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    while data := await reader.read(65536):
        queue.put_nowait((loop.time() + delay, data))
    queue.put_nowait((0.0, b""))
    await delivering


def start_delay_proxy(target_port: int, delay: float) -> int:
    """A loopback TCP proxy to `target_port` in a daemon thread; returns its port."""
    port, ready = free_port(), threading.Event()

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", target_port)
        await asyncio.gather(
            relay(reader, upstream_writer, delay),
            relay(upstream_reader, writer, delay),
            return_exceptions=True,
        )

    async def serve() -> None:
        server = await asyncio.start_server(connection, "127.0.0.1", port)
        ready.set()
        await server.serve_forever()

    threading.Thread(target=asyncio.run, args=(serve(),), daemon=True).start()
    ready.wait(10)
    return port


@contextmanager
def registry(database_url: str, threads: str, log: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "registry_local", "--port", str(port),
               "--database-url", database_url, "--db-threads", threads]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with running_server(f"registry ({threads})", command, url, HEALTH, log, timeout=60):
        yield f"{url}{API}"


def seed(api: str) -> str:
    """One model with 120 versions; the id of the last."""
    name = f"bench-{secrets.token_hex(4)}"  # each server seeds its own model in the database
    model = httpx.post(f"{api}/registered_models", json={"name": name}).json()
    for index in range(120):
        body = {"name": f"v{index}", "registeredModelId": model["id"]}
        version = httpx.post(f"{api}/model_versions", json=body).json()
    return str(version["id"])


def wrk_rate(url: str, connections: int, seconds: int) -> float:
    command = [tool("wrk", "wrk"), "-t1", f"-c{connections}", f"-d{seconds}s", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if found is None:
        raise SystemExit(f"wrk printed no rate:\n{output}")
    return float(found.group(1))


def measure(database_url: str, threads: str, seconds: int, work: Path) -> dict[str, float]:
    rates = {}
    with registry(database_url, threads, work / f"registry-{threads}.log") as api:
        version = seed(api)
        for case, path in CASES:
            for connections in (1, 8):
                url = f"{api}/{path.format(version=version)}"
                rates[f"{case}, {connections} conn."] = wrk_rate(url, connections, seconds)
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=float, default=0.5, help="one-way proxy delay")
    parser.add_argument("--seconds", type=int, default=5, help="wrk duration per case")
    parser.add_argument("--threads", default="4", help="--db-threads compared with 0")
    args = parser.parse_args()
    print(f"registry_local on PostgreSQL, {started()}; {machine()}; "
          f"load average {load_average():.1f}; "
          f"wrk, 1 thread, {args.seconds} s per case; requests/s")  # fmt: skip
    print("\n" + table_row("database", "case", "on the loop (0)", f"{args.threads} threads",
                           "ratio"))  # fmt: skip
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp, scratch_database("postgresql") as engine:
        direct = engine.url.render_as_string(hide_password=False)
        port = make_url(direct).port or 5432
        proxy = start_delay_proxy(port, args.delay_ms / 1000)
        delayed = direct.replace(f":{port}/", f":{proxy}/")
        routes = {"loopback": direct, f"+{args.delay_ms:g} ms each way": delayed}
        for route, url in routes.items():
            loop = measure(url, "0", args.seconds, Path(tmp))
            threaded = measure(url, args.threads, args.seconds, Path(tmp))
            for case, rate in loop.items():
                ratio = threaded[case] / rate
                cells = (route, case, f"{rate:,.0f}", f"{threaded[case]:,.0f}", f"{ratio:.2f}×")
                print(table_row(*cells), flush=True)


if __name__ == "__main__":
    main()
