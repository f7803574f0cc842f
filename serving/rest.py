"""The REST front end: a bare ASGI app that routes, decodes, calls the data plane, encodes.

No web framework on the hot path: routing is a split of the path, JSON is orjson, and every
error is a `ServingError` rendered once, by `error_response`, as `{"error": "..."}`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from serving.codec import HEADER_LENGTH, WireRequest, decode_infer, encode_infer, parse_json
from serving.dataplane import DataPlane
from serving.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ServingError,
    Unauthorized,
    UnsupportedMediaType,
)
from serving.repository import checked_name

log = logging.getLogger("serving")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
JSON_HEADERS = [(b"content-type", b"application/json")]
INLINE_DECODE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=lambda: list(JSON_HEADERS))


def json_response(document: Any, status: int = 200) -> Response:
    return Response(status, orjson.dumps(document))


def error_response(error: ServingError) -> Response:
    """The one error shape of the inference server."""
    response = json_response({"error": error.message}, error.status)
    if isinstance(error, Unauthorized):
        response.headers.append((b"www-authenticate", b"Bearer"))
    if isinstance(error, MethodNotAllowed):
        response.headers.append((b"allow", error.allow.encode()))
    return response


class ClientDisconnected(Exception):
    """The client went away before sending its whole body."""


@dataclass
class HttpRequest:
    """The parts of an ASGI HTTP request the routes need."""

    method: str
    path: str
    headers: dict[bytes, bytes]
    receive: Receive
    max_body_bytes: int

    async def body(self) -> bytes | bytearray:
        """The whole body, in one buffer grown in place (never the chunks and their join at
        once); PayloadTooLarge as soon as it is known to be over the limit."""
        declared = self.headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise PayloadTooLarge(f"request body over the limit of {self.max_body_bytes} bytes")
        body = bytearray()
        more = True
        while more:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                raise PayloadTooLarge(f"request body over the limit of {self.max_body_bytes} bytes")
            more = message.get("more_body", False)
        return body

    async def json_object(self) -> dict[str, Any]:
        """The body as a JSON object ({} when empty)."""
        body = await self.body()
        if not body.strip():
            return {}
        document = parse_json(body)
        if not isinstance(document, dict):
            raise BadRequest("request body must be a JSON object")
        return document

    def expect(self, method: str) -> None:
        if self.method != method:
            message = f"{self.method} is not allowed on {self.path}; use {method}"
            raise MethodNotAllowed(message, method)


@dataclass(frozen=True)
class ApiSettings:
    max_body_bytes: int = 64 * 1024 * 1024
    auth_token: str = ""


class RestApi:
    """ASGI application of the Open Inference Protocol v2 REST API and its extensions."""

    def __init__(self, dataplane: DataPlane, settings: ApiSettings) -> None:
        self.dataplane = dataplane
        self.settings = settings
        self.large_decodes = asyncio.Semaphore(1)  # one at a time: bounds their memory

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self.lifespan(receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope["headers"])
        request = HttpRequest(
            scope["method"], scope["path"], headers, receive, self.settings.max_body_bytes
        )
        try:
            response = await self.route(request)
        except ServingError as exc:
            response = error_response(exc)
        except ClientDisconnected:
            return
        except Exception:
            log.exception("unexpected error on %s %s", request.method, request.path)
            response = error_response(ServingError("internal server error"))
        await send_response(send, response)

    async def route(self, request: HttpRequest) -> Response:
        parts = request.path.split("/")[1:]
        if parts[0] == "v2":
            return await self.route_v2(request, parts[1:])
        if parts == ["metrics"]:
            request.expect("GET")
            metrics = self.dataplane.metrics
            content_type = metrics.content_type.encode()
            return Response(200, metrics.render(), [(b"content-type", content_type)])
        raise NotFound(f"no route {request.path}")

    async def route_v2(self, request: HttpRequest, parts: list[str]) -> Response:
        if parts in ([], [""]):
            request.expect("GET")
            return json_response(self.dataplane.server_metadata())
        if parts[0] == "models" and len(parts) >= 2:
            return await self.route_model(request, parts[1], parts[2:])
        if parts[0] == "health" and parts[1:] in (["live"], ["ready"]):
            request.expect("GET")
            return json_response({parts[1]: True})
        if parts[0] == "repository":
            self.authorize(request)
            return await self.route_repository(request, parts[1:])
        raise NotFound(f"no route {request.path}")

    async def route_model(self, request: HttpRequest, name: str, rest: list[str]) -> Response:
        version = None
        if rest[:1] == ["versions"] and len(rest) >= 2:
            version, rest = rest[1], rest[2:]
        if rest == ["infer"]:
            request.expect("POST")
            return await self.infer(request, name, version)
        request.expect("GET")
        if not rest:
            return json_response(self.dataplane.model_metadata(name, version).as_dict())
        if rest == ["ready"]:
            self.dataplane.model_ready(name, version)
            return json_response({"name": name, "ready": True})
        raise NotFound(f"no route {request.path}")

    async def infer(self, request: HttpRequest, name: str, version: str | None) -> Response:
        try:
            self.dataplane.model_ready(name, version)
            check_encoding(request.headers.get(b"content-encoding"))
            header_length = parse_header_length(request.headers.get(HEADER_LENGTH))
            wire = await self.decode(await request.body(), header_length)
            response = await self.dataplane.infer(name, version, wire.request)
        except ServingError as exc:
            self.dataplane.count_failure(name, exc)
            raise
        body, headers = encode_infer(response, wire)
        return Response(200, body, headers)

    async def decode(self, body: bytes | bytearray, header_length: int | None) -> WireRequest:
        """Decode an inference body: small JSON here, large JSON on a worker thread (one at
        a time), so the event loop keeps answering while megabytes of JSON are parsed."""
        json_bytes = len(body) if header_length is None else header_length
        if json_bytes <= INLINE_DECODE_BYTES:  # binary tensor data costs no decoding
            return decode_infer(body, header_length)
        async with self.large_decodes:
            return await asyncio.to_thread(decode_infer, body, header_length)

    async def route_repository(self, request: HttpRequest, parts: list[str]) -> Response:
        request.expect("POST")
        if parts == ["index"]:
            ready_only = (await request.json_object()).get("ready") is True
            return json_response([entry.as_dict() for entry in self.dataplane.index(ready_only)])
        if len(parts) == 3 and parts[0] == "models" and parts[2] in ("load", "unload"):
            checked_name(parts[1])
            parameters = parameters_of(await request.json_object())
            if parts[2] == "load":
                entry = await self.dataplane.load(parts[1], parameters)
                return json_response(entry.as_dict())
            await self.dataplane.unload(parts[1])
            return json_response({"name": parts[1], "state": "UNAVAILABLE"})
        raise NotFound(f"no route {request.path}")

    def authorize(self, request: HttpRequest) -> None:
        token = self.settings.auth_token
        if not token:
            return
        scheme, _, credentials = request.headers.get(b"authorization", b"").partition(b" ")
        if scheme.lower() != b"bearer" or not hmac.compare_digest(credentials, token.encode()):
            raise Unauthorized("the repository API needs 'Authorization: Bearer <token>'")

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.dataplane.prepare()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.dataplane.close()
                await send({"type": "lifespan.shutdown.complete"})
                return


def parameters_of(document: dict[str, Any]) -> dict[str, Any]:
    parameters = document.get("parameters", {})
    if not isinstance(parameters, dict):
        raise BadRequest("'parameters' must be an object")
    return parameters


def check_encoding(encoding: bytes | None) -> None:
    if encoding not in (None, b"identity", b""):
        raise UnsupportedMediaType(f"Content-Encoding {encoding.decode()!r} is not supported")


def parse_header_length(value: bytes | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise BadRequest("Inference-Header-Content-Length must be a non-negative integer")
    return int(value)


async def send_response(send: Send, response: Response) -> None:
    length = (b"content-length", str(len(response.body)).encode())
    await send({"type": "http.response.start", "status": response.status,
                "headers": [length, *response.headers]})  # fmt: skip
    await send({"type": "http.response.body", "body": response.body})
