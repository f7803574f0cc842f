"""Hostile input: 4xx in the one error shape, nothing stored changes, bounded time and memory.

Requests go straight into the ASGI app (httpx refuses URLs over 64 KiB, and the point is the
app's own limits), each timed and measured with tracemalloc (peak of Python allocations made
while the app handles it). A real server gets the same inputs over HTTP in
test_bad_input_leaves_a_real_server_small, which bounds the growth of the process' RSS.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson
import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from registry_local.app import create_app
from registry_local.settings import Settings

from .support import Api, Factory, Seeded, seed_one_of_each, snapshot

BODY_LIMIT = 1024 * 1024
MAX_SECONDS = 1.0  # per request, on a busy shared 2-core machine (measured: at most 20 ms)
MAX_PEAK_BYTES = 16 * 1024 * 1024  # Python allocations for one request (measured: at most 7.5 MiB)
MAX_RSS_GROWTH = 32 * 1024 * 1024  # of a real server, over ROUNDS rounds of every bad input
ROUNDS = 10
MAX_MESSAGE_LENGTH = 200
PREFIX = "/api/model_registry/v1alpha3"
JSON = [(b"content-type", b"application/json")]


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    seconds: float
    peak_bytes: int


async def _call(app: Any, method: str, path: str, query: bytes, body: bytes, length: bool) -> Reply:
    chunks = [body[start : start + 65536] for start in range(0, len(body), 65536)] or [b""]
    incoming = [
        {"type": "http.request", "body": chunk, "more_body": index < len(chunks) - 1}
        for index, chunk in enumerate(chunks)
    ]
    headers = JSON + ([(b"content-length", str(len(body)).encode())] if length else [])
    scope = {"type": "http", "method": method, "path": path, "query_string": query,
             "headers": headers}  # fmt: skip
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    tracemalloc.reset_peak()
    baseline, _ = tracemalloc.get_traced_memory()  # the request's own chunks are in here
    started = time.perf_counter()
    await app(scope, receive, send)
    seconds, (_, peak) = time.perf_counter() - started, tracemalloc.get_traced_memory()
    return Reply(sent[0]["status"], orjson.loads(sent[1]["body"]), seconds, peak - baseline)


def call(app: Any, method: str, path: str, query: bytes = b"", body: bytes = b"",
         length: bool = True) -> Reply:  # fmt: skip
    """One request straight into the app, timed and traced."""
    tracemalloc.start()
    try:
        return asyncio.run(_call(app, method, PREFIX + path, query, body, length))
    finally:
        tracemalloc.stop()


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def token(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@dataclass(frozen=True)
class BadInput:
    """A hostile request, the status it must get and a word its message must contain."""

    method: str
    path: str
    status: int
    mentions: str
    body: bytes = b""
    params: dict[str, str] | Callable[[Api], dict[str, str]] | None = None
    length: bool = True  # send a content-length header

    def query(self, api: Api) -> dict[str, str]:
        return self.params(api) if callable(self.params) else self.params or {}


def listing(**params: str) -> BadInput:
    mentions = next(iter(params))
    return BadInput("GET", "/registered_models", 400, mentions, params=params)


def page_token_of(path: str, **params: str) -> Callable[[Api], dict[str, str]]:
    """A real token from another list or ordering, presented to /registered_models."""

    def params_for(api: Api) -> dict[str, str]:
        issued = api.ok(path, pageSize="1", **params)["nextPageToken"]
        assert issued
        return {"pageSize": "1", "nextPageToken": issued}

    return params_for


def truncated_token(api: Api) -> dict[str, str]:
    issued = api.ok("registered_models", pageSize="1")["nextPageToken"]
    return {"pageSize": "1", "nextPageToken": issued[: len(issued) // 2]}


BIG = b'{"name": "big", "description": "' + b"x" * (2 * BODY_LIMIT) + b'"}'
BAD_INPUTS = {
    "body over the limit": BadInput("POST", "/registered_models", 413, "larger than", BIG),
    "body over the limit, chunked": BadInput(
        "POST", "/registered_models", 413, "larger than", BIG, length=False
    ),
    "body 8 MiB, chunked": BadInput(
        "POST", "/registered_models", 413, "larger than", BIG * 4, length=False
    ),
    "100k nested arrays": BadInput("POST", "/registered_models", 400, "JSON", nested(100_000)),
    "100k nested objects": BadInput(
        "POST", "/registered_models", 400, "JSON", b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    ),
    "nesting inside a field": BadInput(
        "POST",
        "/registered_models",
        400,
        "description",
        b'{"name": "n", "description": ' + nested(1000) + b"}",
    ),  # fmt: skip
    "nested PATCH": BadInput("PATCH", "/registered_models/2", 400, "JSON", nested(100_000)),
    "pageSize 10**12": listing(pageSize=str(10**12)),
    "pageSize 10**100": listing(pageSize=str(10**100)),
    "pageSize -1": listing(pageSize="-1"),
    "pageSize 0": listing(pageSize="0"),
    "pageSize abc": listing(pageSize="abc"),
    "pageSize 1e3": listing(pageSize="1e3"),
    "filter unbalanced (": listing(filterQuery="(name = 'MNIST'"),
    "filter unbalanced )": listing(filterQuery="name = 'MNIST')"),
    "filter 100 KB": listing(filterQuery="name = '" + "x" * 100_000 + "'"),
    "filter 60 KB": listing(filterQuery="name = " + "x" * 60_000),
    "filter 10k nested parens": listing(filterQuery="(" * 10_000 + "name = 'a'" + ")" * 10_000),
    "filter NUL": listing(filterQuery="name = 'MN\x00IST'"),
    "filter operator ~": listing(filterQuery="name ~ 'MNIST'"),
    "filter operator ==": listing(filterQuery="name == 'MNIST'"),
    "filter operator XOR": listing(filterQuery="name = 'a' XOR name = 'b'"),
    "filter operator REGEXP": listing(filterQuery="name REGEXP 'M.*'"),
    "filter 101 comparisons": listing(filterQuery=" OR ".join(["name = 'a'"] * 101)),
    "filter IN 1001 values": listing(filterQuery=f"id IN ({', '.join(['1'] * 1001)})"),
    "token random base64": listing(nextPageToken=base64.b64encode(b"\x93\x17random").decode()),
    "token not base64": listing(nextPageToken="!!not-a-token!!"),
    "token 60 KB": listing(nextPageToken="A" * 60_000),
    "query string 100 KB": listing(filterQuery="name = 'a'", padding="p" * 100_000),
    "token nested JSON": listing(nextPageToken=base64.urlsafe_b64encode(nested(90)).decode()),
    "token huge numbers": listing(nextPageToken=token("x", "ID", "ASC", 10**30, 1)),
    "token wrong shape": listing(nextPageToken=token({"id": 1})),
    "token truncated": BadInput(
        "GET", "/registered_models", 400, "nextPageToken", params=truncated_token
    ),  # fmt: skip
    "token of another list": BadInput(
        "GET", "/registered_models", 400, "another list", params=page_token_of("model_versions")
    ),
    "token of another ordering": BadInput(
        "GET",
        "/registered_models",
        400,
        "another orderBy",
        params=page_token_of("registered_models", sortOrder="DESC"),
    ),  # fmt: skip
}


@pytest.fixture
def bounded_app(engine: Engine) -> Any:
    return create_app(Settings(max_body_bytes=BODY_LIMIT), engine)


@pytest.fixture
def stored(bounded_app: Any) -> Iterator[tuple[Api, Seeded]]:
    """Something of each kind stored, and an API client to list it with."""
    with TestClient(bounded_app) as client:
        api = Api(client)
        make = Factory(api)
        seeded = seed_one_of_each(make)
        make.version(make.model("second"))  # two of each: lists have a second page
        yield api, seeded


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_is_refused_within_bounds(
    bounded_app: Any, stored: tuple[Api, Seeded], case: BadInput
) -> None:
    api, seeded = stored
    before = snapshot(api, seeded)
    query = urlencode(case.query(api)).encode()
    reply = call(bounded_app, case.method, case.path, query, case.body, case.length)
    assert reply.status == case.status, reply.body
    assert set(reply.body) == {"code", "message"}
    assert case.mentions in reply.body["message"]
    assert len(reply.body["message"]) <= MAX_MESSAGE_LENGTH  # quotes of the input are cut short
    assert reply.seconds < MAX_SECONDS
    assert reply.peak_bytes < MAX_PEAK_BYTES
    assert snapshot(api, seeded) == before


# --- the same over HTTP, against a real server --------------------------------------------------


@pytest.fixture
def bounded_server(make_registry_server: Callable[..., Any]) -> Any:
    return make_registry_server("--max-body-bytes", str(BODY_LIMIT))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def send_over_http(api: Api, port: int, case: BadInput) -> tuple[int, dict[str, Any]]:
    params = case.query(api)
    url = f"{api.url(case.path)}?{urlencode(params)}" if params else api.url(case.path)
    if len(url) > MAX_HTTPX_URL:
        return raw_get(port, url.encode())
    content = case.body if case.length else iter([case.body])  # an iterator goes chunked
    headers = {"content-type": "application/json"}
    response = api.client.request(case.method, url, content=content, headers=headers)
    return response.status_code, response.json()


def raw_get(port: int, target: bytes, headers: bytes = b"") -> tuple[int, dict[str, Any]]:
    """GET with a request head httpx refuses to build; (status, JSON body)."""
    head = b"GET " + target + b" HTTP/1.1\r\nHost: t\r\nConnection: close\r\n" + headers
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head + b"\r\n")
        reply = b"".join(iter(lambda: connection.recv(65536), b""))
    status_line, _, body = reply.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), orjson.loads(body)


MAX_HTTPX_URL = 65536
LISTING = f"{PREFIX}/registered_models".encode()
HUGE_HEADS = {  # name: (request target, extra header lines, what the message says)
    "filter 100 KB": (LISTING + b"?filterQuery=" + b"x" * 100_000, b"", "URL is longer"),
    "URL 4 MB": (LISTING + b"?" + b"p" * 4_000_000, b"", "URL is longer"),
    "header 100 KB": (LISTING, b"X-Padding: " + b"p" * 100_000 + b"\r\n", "headers are larger"),
    "20k headers": (LISTING, b"X-Pad: p\r\n" * 20_000, "headers are larger"),
}


@pytest.mark.server
def test_bad_input_leaves_a_real_server_small(bounded_server: Any, tmp_path: Path) -> None:
    with httpx.Client(base_url=bounded_server.url, timeout=30) as client:
        api = Api(client)  # type: ignore[arg-type]
        make = Factory(api)
        seeded = seed_one_of_each(make)
        make.version(make.model("second"))
        before, rss = snapshot(api, seeded), []
        for _ in range(ROUNDS + 1):
            for name, case in BAD_INPUTS.items():
                status, body = send_over_http(api, bounded_server.port, case)
                assert status == case.status, (name, body)
                assert set(body) == {"code", "message"}
            for name, (target, headers, says) in HUGE_HEADS.items():
                status, body = raw_get(bounded_server.port, target, headers)
                assert (status, body["code"]) == (400, "Bad Request"), name
                assert says in body["message"]
            rss.append(rss_bytes(bounded_server.process.pid))
        assert snapshot(api, seeded) == before
    growth = rss[-1] - rss[0]  # the first round warms the server up
    print(f"RSS {rss[0] / 2**20:.1f} -> {rss[-1] / 2**20:.1f} MiB over {ROUNDS} rounds")
    assert growth < MAX_RSS_GROWTH
