"""Benchmark registry_local against MLflow's tracking server (model registry API), side by side.

    python -m bench.registry                 # 1k and 100k versions
    python -m bench.registry --sizes 1000    # quicker

Both servers run on this machine with SQLite backends and are driven by the same sequential
keep-alive HTTP client (`http.client`). At each size it prints, for both: the rate of
creating model versions one after the other, the median latency of getting one version and
of listing a page of 100 versions, and how many times faster registry_local is. The two
servers are measured in alternating rounds so that load from other processes on the machine
hits both alike; the CPU time each server's processes spend per request (from /proc) is
printed too, as it depends far less on that load than wall-clock figures do.

To reach a size quickly, all but the last `--creates` (plus 20 warm-up) versions are inserted
straight into each server's SQLite database (registry_local: its `contexts` table; MLflow:
copies of a version it created itself); the last ones go through the REST APIs, and the
timed `--creates` of them are what the create rate measures. MLflow is installed with uv
into its own virtualenv (`--mlflow-venv`, created on first use) so it never mixes with the
project's dependencies.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import shutil
import socket
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert

from bench import REPO
from bench.peers import ensure_peer_venv
from bench.processes import group_cpu_seconds, running_server
from bench.report import ratio
from mr_client.urls import API as MR_PREFIX
from registry_local.schema import contexts
from stack.proc import free_port

ML_PREFIX = "/api/2.0/mlflow"
ROUND = 25  # requests per server before switching to the other one
WARMUP = 20  # untimed creates (and gets) per server before each measurement


class Client:
    """A keep-alive JSON client; every call returns the decoded body.

    TCP_NODELAY is set because http.client sends a request's headers and body in separate
    writes, which Nagle's algorithm would otherwise hold back until the server ACKs.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = self.connect()

    def connect(self) -> http.client.HTTPConnection:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        connection.connect()
        assert connection.sock is not None
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            return self.send(method, path, body)
        except (ConnectionError, http.client.RemoteDisconnected):
            self.connection.close()  # the server dropped an idle keep-alive connection
            self.connection = self.connect()
            return self.send(method, path, body)

    def send(self, method: str, path: str, body: Any) -> Any:
        payload = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"}
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data)


class Server:
    """One registry under test: how to create, get, list and bulk-insert model versions."""

    name = ""

    def __init__(self, client: Client, database: Path, process_group: int) -> None:
        self.client = client
        self.database = database
        self.process_group = process_group
        self.versions = 0
        self.created_ids: list[str] = []

    def create(self, number: int) -> str:
        raise NotImplementedError

    def get(self, key: str) -> Any:
        raise NotImplementedError

    def list_page(self) -> Any:
        raise NotImplementedError

    def seed(self, count: int) -> None:
        raise NotImplementedError


class RegistryLocal(Server):
    """registry_local: versions of one RegisteredModel, v1alpha3 paths."""

    name = "registry_local"

    def __init__(self, client: Client, database: Path, process_group: int) -> None:
        super().__init__(client, database, process_group)
        model = client.call("POST", f"{MR_PREFIX}/registered_models", {"name": "bench"})
        self.model_id = str(model["id"])

    def create(self, number: int) -> str:
        body = {"name": f"v{number}", "registeredModelId": self.model_id, "author": "bench"}
        return str(self.client.call("POST", f"{MR_PREFIX}/model_versions", body)["id"])

    def get(self, key: str) -> Any:
        return self.client.call("GET", f"{MR_PREFIX}/model_versions/{key}")

    def list_page(self) -> Any:
        query = "pageSize=100&orderBy=ID&sortOrder=DESC&nextPageToken="
        path = f"{MR_PREFIX}/registered_models/{self.model_id}/versions?{query}"
        page = self.client.call("GET", path)
        assert page["size"] == 100
        return page

    def seed(self, count: int) -> None:
        """Insert `count` versions of the benchmark model straight into the contexts table."""
        engine = create_engine(f"sqlite:///{self.database}")
        now = int(time.time() * 1000)
        model_id = int(self.model_id)
        rows = [
            {
                "kind": "ModelVersion",
                "parent_id": model_id,
                "parent_key": model_id,
                "name": f"seed-{self.versions + n}",
                "state": "LIVE",
                "author": "bench",
                "create_time": now,
                "update_time": now,
            }
            for n in range(count)
        ]
        with engine.begin() as connection:
            for begin in range(0, len(rows), 10_000):
                connection.execute(insert(contexts), rows[begin : begin + 10_000])
        engine.dispose()


class Mlflow(Server):
    """MLflow's model registry REST API (2.0 paths) on its tracking server."""

    name = "MLflow"

    def __init__(self, client: Client, database: Path, process_group: int) -> None:
        super().__init__(client, database, process_group)
        client.call("POST", f"{ML_PREFIX}/registered-models/create", {"name": "bench"})

    def create(self, number: int) -> str:
        body = {"name": "bench", "source": f"s3://bench/v{number}", "description": "bench"}
        created = self.client.call("POST", f"{ML_PREFIX}/model-versions/create", body)
        return str(created["model_version"]["version"])

    def get(self, key: str) -> Any:
        path = f"{ML_PREFIX}/model-versions/get?name=bench&version={key}"
        return self.client.call("GET", path)

    def list_page(self) -> Any:
        query = "filter=name%3D%27bench%27&max_results=100"
        page = self.client.call("GET", f"{ML_PREFIX}/model-versions/search?{query}")
        assert len(page["model_versions"]) == 100
        return page

    def seed(self, count: int) -> None:
        """Copy version 1 of the benchmark model `count` times, with the next version numbers."""
        if self.versions == 0:
            self.create(0)
            self.versions, count = 1, count - 1
        with sqlite3.connect(self.database) as connection:
            columns = [row[1] for row in connection.execute("PRAGMA table_info(model_versions)")]
            values = {"version": "n", "creation_time": "t.creation_time + n"}
            values["last_updated_time"] = "t.last_updated_time + n"
            select = ", ".join(values.get(column, f"t.{column}") for column in columns)
            connection.execute(
                "WITH RECURSIVE seq(n) AS (SELECT ? UNION ALL SELECT n + 1 FROM seq WHERE n < ?) "
                f"INSERT INTO model_versions ({', '.join(columns)}) SELECT {select} "
                "FROM seq, model_versions t WHERE t.name = 'bench' AND t.version = 1",
                (self.versions + 1, self.versions + count),
            )


@contextmanager
def registry_local(work: Path) -> Iterator[Server]:
    database = work / "registry.db"
    port = free_port()
    command = [sys.executable, "-m", "registry_local", "--port", str(port)]
    command += ["--database-url", f"sqlite:///{database}", "--log-level", "warning"]
    url, log = f"http://127.0.0.1:{port}", work / "registry.log"
    with running_server("registry_local", command, url, "/readyz/health", log, cwd=work) as pid:
        yield RegistryLocal(Client(port), database, pid)


@contextmanager
def mlflow_server(work: Path, venv: Path) -> Iterator[Server]:
    database = work / "mlflow.db"
    port = free_port()
    command = [str(venv / "bin" / "mlflow"), "server"]
    command += ["--backend-store-uri", f"sqlite:///{database}", "--host", "127.0.0.1"]
    command += ["--default-artifact-root", str(work / "mlartifacts")]
    command += ["--port", str(port), "--workers", "1"]
    # MLflow 3 also starts a job runner with seven huey consumers that import for a minute
    # and use CPU the registry never needs: off, so neither server competes with them.
    environment = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    url, log = f"http://127.0.0.1:{port}", work / "mlflow.log"
    with running_server("mlflow", command, url, "/health", log, env=environment, timeout=600,
                        cwd=work) as pid:  # fmt: skip
        yield Mlflow(Client(port), database, pid)


# -- measurements ------------------------------------------------------------------------------


@dataclass
class Timings:
    """Client-side durations of each request, and server CPU seconds spent on all of them."""

    durations: list[float] = field(default_factory=list)
    server_cpu: float = 0.0

    def cpu_ms_per_request(self) -> float:
        return self.server_cpu / len(self.durations) * 1000


def alternate(
    servers: list[Server], total: int, step: Callable[[Server, int], float]
) -> dict[str, Timings]:
    """Run `total` timed steps per server, ROUND at a time, switching between servers."""
    timings = {server.name: Timings() for server in servers}
    for start_index in range(0, total, ROUND):
        for server in servers:
            record = timings[server.name]
            cpu_before = group_cpu_seconds(server.process_group)
            for index in range(start_index, min(total, start_index + ROUND)):
                record.durations.append(step(server, index))
            record.server_cpu += group_cpu_seconds(server.process_group) - cpu_before
    return timings


def timed(action: Callable[[], Any]) -> float:
    begin = time.perf_counter()
    action()
    return time.perf_counter() - begin


def measure(
    servers: list[Server], size: int, creates: int, samples: int
) -> dict[str, dict[str, float]]:
    """Bring every server to `size` versions, timing the last `creates`, then read."""
    for server in servers:
        server.seed(size - creates - WARMUP - server.versions)
        server.versions = size - creates - WARMUP
        warm_up(server)
    create_times = alternate(servers, creates, timed_create)
    rng = random.Random(size)
    get_times = alternate(
        servers, samples, lambda s, _i: timed(lambda: s.get(rng.choice(s.created_ids)))
    )
    list_times = alternate(servers, max(50, samples // 4), lambda s, _i: timed(s.list_page))
    return {
        server.name: {
            "create_per_s": creates / sum(create_times[server.name].durations),
            "get_p50_ms": statistics.median(get_times[server.name].durations) * 1000,
            "list100_p50_ms": statistics.median(list_times[server.name].durations) * 1000,
            "create_cpu_ms": create_times[server.name].cpu_ms_per_request(),
            "get_cpu_ms": get_times[server.name].cpu_ms_per_request(),
            "list100_cpu_ms": list_times[server.name].cpu_ms_per_request(),
        }
        for server in servers
    }


def warm_up(server: Server) -> None:
    """Untimed requests first: both servers import and compile things on first use."""
    for _ in range(WARMUP):
        timed_create(server, 0)
        server.get(server.created_ids[-1])
    server.list_page()


def timed_create(server: Server, _index: int) -> float:
    server.versions += 1
    number = server.versions
    return timed(lambda: server.created_ids.append(server.create(number)))


ROWS = (
    ("create version (sequential)", "create_per_s", "/s", True),
    ("get version p50", "get_p50_ms", "ms", False),
    ("list 100 versions p50", "list100_p50_ms", "ms", False),
    ("server CPU per create", "create_cpu_ms", "ms", False),
    ("server CPU per get", "get_cpu_ms", "ms", False),
    ("server CPU per list 100", "list100_cpu_ms", "ms", False),
)


def report(results: dict[int, dict[str, dict[str, float]]]) -> None:
    for size, by_server in results.items():
        print(f"\n== {size:,} model versions ==")
        print(f"{'':30}{'registry_local':>16}{'MLflow':>12}{'x better':>10}")
        ours, theirs = by_server["registry_local"], by_server.get("MLflow")
        for label, key, unit, higher_is_better in ROWS:
            other = f"{theirs[key]:>9.2f}{unit:>3}" if theirs else f"{'-':>12}"
            times = f"{ratio(ours[key], theirs[key], higher_is_better):>10.1f}" if theirs else ""
            print(f"{label:30}{ours[key]:>13.2f}{unit:>3}{other}{times}")
    sizes = sorted(results)
    if len(sizes) > 1:
        small, large = results[sizes[0]]["registry_local"], results[sizes[-1]]["registry_local"]
        slowdown = [ratio(large[key], small[key], better) for _l, key, _u, better in ROWS[:3]]
        print(f"\nregistry_local at {sizes[-1]:,} versions vs {sizes[0]:,} (x slower, 1.0 = same):")
        print("  create {:.2f}, get {:.2f}, list {:.2f}".format(*[1 / value for value in slowdown]))


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1000,100000", help="model-version counts to measure at")
    parser.add_argument(
        "--creates", type=int, default=500, help="versions created through the API per size"
    )
    parser.add_argument(
        "--samples", type=int, default=500, help="get requests per size (lists: a quarter)"
    )
    parser.add_argument("--work-dir", type=Path, default=REPO / ".state" / "bench" / "registry")
    parser.add_argument(
        "--mlflow-venv", type=Path, default=REPO / ".state" / "bench" / "mlflow-venv"
    )
    parser.add_argument(
        "--mlflow-spec", default="mlflow==3.17.*", help="what uv installs for MLflow"
    )
    parser.add_argument("--no-mlflow", action="store_true", help="measure registry_local only")
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    sizes = sorted(int(size) for size in args.sizes.split(","))
    shutil.rmtree(args.work_dir, ignore_errors=True)
    args.work_dir.mkdir(parents=True)
    if not args.no_mlflow:
        ensure_peer_venv(args.mlflow_venv, [args.mlflow_spec])
    with ExitStack() as stack:
        servers = [stack.enter_context(registry_local(args.work_dir))]
        if not args.no_mlflow:
            servers.append(stack.enter_context(mlflow_server(args.work_dir, args.mlflow_venv)))
        results = {}
        for size in sizes:
            print(f"measuring at {size:,} versions...", flush=True)
            results[size] = measure(servers, size, args.creates, args.samples)
    report(results)
    if args.json:
        args.json.write_text(
            json.dumps({str(size): numbers for size, numbers in results.items()}, indent=2)
        )


if __name__ == "__main__":
    main()
