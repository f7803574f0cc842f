"""The ASGI application: one router, one exception handler, one error shape.

Every request goes through `RegistryApp`: the bearer-token check, then `/readyz/health` or a
path below `/api/model_registry/{version}/`, which the route table of `handlers.py` maps to a
handler (the OpenAPI document `{version}/openapi.yaml` is one of its routes). Whatever goes
wrong on the way (an error a handler raises, an unknown path, a wrong method, a bug) becomes
an answer in `handle_exception` and nowhere else: `{"code": ..., "message": ...}` with the
error's status and headers (`Allow` on 405, `WWW-Authenticate` on 401; a bug is logged and
answered 500). The HTTP protocol (`http_protocol.py`) answers a request it cannot parse
through the same function.

No web framework: this is the hot path, and a framework's request/response objects and
middleware cost about a fifth of the server time per request.

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
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import Engine

from registry_local.errors import (
    BadRequest,
    ClientGone,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RegistryError,
    Unauthorized,
    shown,
)
from registry_local.handlers import build_router
from registry_local.http_api import DIALECTS, JSON_HEADERS, READ_METHODS, Call, Document, Registry
from registry_local.settings import Settings, database_threads
from registry_local.store import Store

logger = logging.getLogger("registry_local")
API_ROOT = "/api/model_registry/"
HEALTH_PATH = "/readyz/health"
HEALTHY = b'{"status":"OK"}'
MAX_QUERY_BYTES = 65536  # what fits a URL through the HTTP parser (see http_protocol.py)
DIGITS = re.compile(rb"[0-9]+")
CLIENT_GONE = "the connection closed before the whole request body arrived"
NO_TOKEN = "missing or wrong bearer token: send 'Authorization: Bearer TOKEN'"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]


def handle_exception(error: Exception, scope: Scope | None = None) -> Answer:
    """The one place an exception becomes an answer: status, `{"code", "message"}`, headers."""
    if not isinstance(error, RegistryError):
        where = f"{scope.get('method')} {scope.get('path')}" if scope else "a request"
        logger.error("unexpected error serving %s", where, exc_info=error)
        error = RegistryError("internal server error")
    body = orjson.dumps({"code": error.code, "message": error.message})
    return error.status, body, [*JSON_HEADERS, *error.headers()]


class RegistryApp:
    """The registry over ASGI: HTTP requests, and the lifespan that ends the database threads."""

    def __init__(self, settings: Settings, store: Store, executor: Executor | None) -> None:
        self.settings = settings
        self.store = store
        self.registry = Registry(store)
        self.database_executor = executor
        self.router = build_router()
        self.token = settings.auth_token.encode() if settings.auth_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await send_answer(send, await self.answer(scope, receive))
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)
        else:  # a websocket: none is served (uvicorn runs with ws="none")
            await send({"type": "websocket.close"})

    async def answer(self, scope: Scope, receive: Receive) -> Answer:
        try:
            return await self.route(scope, receive)
        except Exception as error:
            return handle_exception(error, scope)

    async def route(self, scope: Scope, receive: Receive) -> Answer:
        path: str = scope["path"]
        if not self.authorized(scope):
            raise Unauthorized(NO_TOKEN)
        if path == HEALTH_PATH:
            return self.health(scope["method"])
        if not path.startswith(API_ROOT):
            raise NotFound(f"no such path: {shown(path)}")
        status, payload = await self.dispatch(scope, receive, path[len(API_ROOT) :])
        if type(payload) is Document:
            return status, payload.body, payload.headers
        return status, orjson.dumps(payload), JSON_HEADERS

    def health(self, method: str) -> Answer:
        if method not in READ_METHODS:
            raise MethodNotAllowed(f"{method} is not allowed here; use GET, HEAD", READ_METHODS)
        self.store.ping()
        return 200, HEALTHY, JSON_HEADERS

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
        call = Call(self.registry, dialect, query, body, entity_id, rest.strip("/"), version)
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
                raise ClientGone(CLIENT_GONE)  # a body cut short is never stored
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise body_too_large(limit)
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        if self.database_executor is not None:
            self.database_executor.shutdown(wait=True)
        await send({"type": "lifespan.shutdown.complete"})


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


async def send_answer(send: Send, answer: Answer) -> None:
    status, body, headers = answer
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings, engine: Engine) -> RegistryApp:
    """The registry app on an engine whose schema is already migrated."""
    threads = database_threads(settings, engine.dialect.name)
    executor = ThreadPoolExecutor(threads, "registry-db") if threads else None
    return RegistryApp(settings, Store(engine), executor)
