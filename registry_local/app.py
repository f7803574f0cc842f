"""The ASGI application: API prefixes, health, the OpenAPI document and the one error shape.

API requests (`/api/model_registry/{version}/...`) are served by `RegistryApi`, a plain ASGI
callable: it is the hot path, and skipping the framework's request/response objects and
middleware saves about a fifth of the server time per request. Everything else (health, the
OpenAPI document, unknown paths) goes through a small Starlette app.

With a bearer token configured, every HTTP request but the health probe must carry it
(API calls, the OpenAPI documents and unknown paths alike): a request without it gets 401
before anything reads its body or touches the database. `/readyz/health` stays open for
liveness probes; it answers only `{"status": "OK"}`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from registry_local.errors import (
    BadRequest,
    ClientGone,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RegistryError,
    Unauthorized,
    shown,
    status_text,
)
from registry_local.handlers import build_router
from registry_local.http_api import DIALECTS, Call, Registry, Router
from registry_local.openapi import served_yaml
from registry_local.settings import Settings, database_threads
from registry_local.store import Store

logger = logging.getLogger("registry_local")
API_ROOT = "/api/model_registry/"
HEALTH_PATH = "/readyz/health"
MAX_QUERY_BYTES = 65536  # what fits a URL through the HTTP parser (see http_protocol.py)
JSON_HEADERS = [(b"content-type", b"application/json")]
CHALLENGE = [(b"www-authenticate", b'Bearer realm="model-registry"')]
DIGITS = re.compile(rb"[0-9]+")
CLIENT_GONE = ClientGone("the connection closed before the whole request body arrived")
UNAUTHORIZED = Unauthorized("missing or wrong bearer token: send 'Authorization: Bearer TOKEN'")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]


def error_body(error: RegistryError) -> bytes:
    return orjson.dumps({"code": error.code, "message": error.message})


def error_headers(error: RegistryError) -> list[tuple[bytes, bytes]]:
    """A 405 names the methods the path has in `Allow` (RFC 9110)."""
    if isinstance(error, MethodNotAllowed):
        return [(b"allow", ", ".join(error.allowed).encode())]
    return []


def error_response(error: RegistryError) -> Response:
    headers = {name.decode(): value.decode() for name, value in error_headers(error)}
    return Response(error_body(error), error.status, headers=headers, media_type="application/json")


class RegistryApi:
    """Serves `/api/model_registry/{version}/...`; anything else goes to `fallback`."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        fallback: Starlette,
        database_executor: Executor | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.database_executor = database_executor
        self.router: Router = build_router()
        self.fallback = fallback
        self.token = settings.auth_token.encode() if settings.auth_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http":
            await self.fallback(scope, receive, send)
        elif not self.authorized(scope):
            await send_json(send, UNAUTHORIZED.status, error_body(UNAUTHORIZED), CHALLENGE)
        elif not path.startswith(API_ROOT) or path.endswith("/openapi.yaml"):
            await self.fallback(scope, receive, send)
        else:
            await send_json(send, *await self.serve(scope, receive, path[len(API_ROOT) :]))

    async def serve(self, scope: Scope, receive: Receive, below_root: str) -> Answer:
        """Status, JSON body and extra headers of one API request; failures in one shape."""
        try:
            status, payload = await self.dispatch(scope, receive, below_root)
            return status, orjson.dumps(payload), []
        except RegistryError as error:
            return error.status, error_body(error), error_headers(error)
        except Exception as exc:  # any bug becomes a 500 in the one error shape
            method = scope["method"]
            logger.error("unexpected error serving %s %s", method, scope["path"], exc_info=exc)
            return 500, error_body(RegistryError("internal server error")), []

    async def dispatch(self, scope: Scope, receive: Receive, below_root: str) -> tuple[int, Any]:
        version, _, rest = below_root.partition("/")
        dialect = DIALECTS.get(version)
        if dialect is None:
            raise NotFound(f"no such API version: {shown(version)}")
        headers = dict(scope["headers"])
        method = scope["method"]
        handler, entity_id = self.router.match(method, rest)
        query = parse_query(scope["query_string"])
        body = await self.read_body(headers, receive) if method in ("POST", "PATCH") else b""
        call = Call(self.registry, dialect, query, body, entity_id, rest.strip("/"))
        if self.database_executor is None:
            return handler(call)
        return await asyncio.get_running_loop().run_in_executor(
            self.database_executor, handler, call
        )

    def authorized(self, scope: Scope) -> bool:
        """No token configured, the health probe, or exactly one `Bearer <token>` header."""
        if self.token is None or scope.get("path") == HEALTH_PATH:
            return True
        offered = [value for name, value in scope["headers"] if name == b"authorization"]
        if len(offered) != 1:
            return False
        scheme, _, credentials = offered[0].partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(credentials, self.token)

    async def read_body(self, headers: dict[bytes, bytes], receive: Receive) -> bytes:
        limit = self.settings.max_body_bytes
        length = headers.get(b"content-length", b"")
        if DIGITS.fullmatch(length) and int(length) > limit:
            raise body_too_large(limit)
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise CLIENT_GONE  # a body cut short is never stored
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise body_too_large(limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)


def parse_query(raw: bytes) -> dict[str, str]:
    if len(raw) > MAX_QUERY_BYTES:
        raise BadRequest(
            f"the query string is longer than {MAX_QUERY_BYTES} bytes (shorten filterQuery)"
        )
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


def body_too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"request body is larger than {limit} bytes, this server's limit (--max-body-bytes)"
    )


async def send_json(
    send: Send, status: int, body: bytes, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode()), *(extra_headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings, engine: Engine) -> RegistryApi:
    """The registry app on an engine whose schema is already migrated."""
    store = Store(engine)

    async def health(_request: Request) -> Response:
        store.ping()
        return Response(b'{"status":"OK"}', media_type="application/json")

    async def openapi(request: Request) -> Response:
        version = request.path_params["version"]
        if version not in DIALECTS:
            raise NotFound(f"no such API version: {shown(version)}")
        return Response(served_yaml(version), media_type="application/yaml")

    routes = [
        Route(HEALTH_PATH, health),
        Route("/api/model_registry/{version}/openapi.yaml", openapi),
    ]
    handlers = {
        RegistryError: lambda _request, exc: error_response(exc),
        HTTPException: _http_error,
        Exception: _crash,
    }
    threads = database_threads(settings, engine.dialect.name)
    executor = ThreadPoolExecutor(threads, "registry-db") if threads else None

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if executor is not None:
            executor.shutdown(wait=True)

    fallback = Starlette(routes=routes, exception_handlers=handlers, lifespan=lifespan)
    return RegistryApi(settings, Registry(store), fallback, executor)


METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def method_rank(method: str) -> tuple[int, str]:
    """Where `method` stands in an `Allow` header: RFC 9110's usual order, others last."""
    known = method in METHOD_ORDER
    return (METHOD_ORDER.index(method) if known else len(METHOD_ORDER), method)


def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        # Starlette joins a set, whose order moves with the hash seed: name them in one order.
        named = (exc.headers or {}).get("Allow", "GET, HEAD").split(", ")
        allowed = tuple(sorted(named, key=method_rank))
        return error_response(MethodNotAllowed(f"method not allowed: {exc.detail}", allowed))
    if exc.status_code == 404:
        return error_response(NotFound("no such path"))
    error = RegistryError(str(exc.detail))
    error.status, error.code = exc.status_code, status_text(exc.status_code)
    return error_response(error)


def _crash(_request: Request, exc: Exception) -> Response:
    logger.error("unexpected error", exc_info=exc)
    return error_response(RegistryError("internal server error"))
