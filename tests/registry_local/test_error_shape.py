"""Every error path answers in the one shape (as datasette's error-shape test): JSON
`{"code": status text, "message": ...}`, its content type and length, and the status' headers.

Paths: unknown route, wrong method (API route, OpenAPI document, health probe), bad body,
bad id, missing field, body over the limit, missing token, a crash, and, over a real
server's socket, requests the HTTP parser refuses. Each sits beside a good request.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from registry_local.app import create_app
from registry_local.errors import status_text
from registry_local.settings import Settings

from .support import PREFIX

MODELS = f"{PREFIX}/registered_models"
TOKEN = "s3cret"


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    body: bytes
    status: int
    allow: str | None = None  # the `Allow` header a 405 must carry


CASES = [
    Case("GET", "/", b"", 404),
    Case("GET", "/somewhere/else", b"", 404),
    Case("GET", "/api/model_registry/v9/registered_models", b"", 404),
    Case("GET", f"{PREFIX}/nothing_here", b"", 404),
    Case("DELETE", MODELS, b"", 405, "GET, POST"),
    Case("PUT", f"{MODELS}/1", b"{}", 405, "GET, PATCH"),
    Case("POST", f"{PREFIX}/openapi.yaml", b"", 405, "GET, HEAD"),
    Case("POST", "/readyz/health", b"", 405, "GET, HEAD"),
    Case("POST", MODELS, b"{", 400),
    Case("GET", f"{MODELS}/abc", b"", 400),
    Case("POST", MODELS, b'{"name": ""}', 422),
    Case("POST", MODELS, orjson.dumps({"name": "m", "description": "x" * 200}), 413),
]


def assert_one_shape(status: int, headers: Mapping[str, str], body: bytes, case: Case) -> None:
    assert status == case.status, body
    assert headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body)
    error = orjson.loads(body)
    assert set(error) == {"code", "message"}
    assert error["code"] == ("Bad Request" if status == 422 else status_text(status))
    assert isinstance(error["message"], str)
    assert error["message"]
    assert "Traceback" not in error["message"]
    assert headers.get("allow") == case.allow


def request(client: TestClient, case: Case, **headers: str) -> Any:
    return client.request(case.method, case.path, content=case.body, headers=headers)


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{case.status}-{case.method}")
def test_every_error_path_has_the_one_shape(engine: Engine, case: Case) -> None:
    app = create_app(Settings(max_body_bytes=100), engine)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = request(client, case)
        assert_one_shape(response.status_code, response.headers, response.content, case)
        assert client.post(MODELS, json={"name": "good"}).status_code == 201
        assert client.get(MODELS).json()["size"] == 1  # the bad request stored nothing


ROUTING_CASES = [case for case in CASES[:8] if case.path != "/readyz/health"]  # open to probes


@pytest.mark.parametrize("case", ROUTING_CASES, ids=lambda case: f"{case.status}-{case.path}")
def test_a_missing_token_comes_before_routing_in_the_one_shape(engine: Engine, case: Case) -> None:
    with TestClient(create_app(Settings(auth_token=TOKEN), engine)) as client:
        refused = request(client, case)
        unauthorized = Case(case.method, case.path, b"", 401)
        assert_one_shape(refused.status_code, refused.headers, refused.content, unauthorized)
        assert refused.headers["www-authenticate"] == 'Bearer realm="model-registry"'
        authorized = request(client, case, authorization=f"Bearer {TOKEN}")
        assert_one_shape(authorized.status_code, authorized.headers, authorized.content, case)


def test_a_crash_has_the_one_shape(engine: Engine, tmp_path: Path) -> None:
    engine.dispose()
    (tmp_path / "registry.db").unlink()
    (tmp_path / "registry.db").mkdir()  # every database call now fails
    with TestClient(create_app(Settings(), engine), raise_server_exceptions=False) as client:
        for path in (MODELS, "/readyz/health"):
            response = client.get(path)
            crash = Case("GET", path, b"", 500)
            assert_one_shape(response.status_code, response.headers, response.content, crash)
            assert orjson.loads(response.content)["message"] == "internal server error"


def exchange(port: int, raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send `raw` on a fresh connection; the status, headers and body of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(raw)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    fields = [line.split(": ", 1) for line in lines]
    headers = {name.lower(): value for name, value in fields}
    return int(status_line.split(" ")[1]), headers, body


def http_request(method: str, target: str, body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


WIRE_CASES = [
    (b"NOT HTTP AT ALL\r\n\r\n", Case("GET", "?", b"", 400)),
    (http_request("GET", f"{MODELS}?q={'a' * 70000}"), Case("GET", MODELS, b"", 400)),
    (http_request("DELETE", MODELS), Case("DELETE", MODELS, b"", 405, "GET, POST")),
    (http_request("GET", "/nowhere"), Case("GET", "/nowhere", b"", 404)),
    (http_request("POST", MODELS, b"{"), Case("POST", MODELS, b"{", 400)),
]


@pytest.mark.server
def test_the_http_parser_and_the_app_answer_in_the_one_shape(
    make_registry_server: Callable[..., Any],
) -> None:
    server = make_registry_server()
    for raw, case in WIRE_CASES:
        assert_one_shape(*exchange(server.port, raw), case)
    good = http_request("POST", MODELS, b'{"name": "good"}')
    assert exchange(server.port, good)[0] == 201
