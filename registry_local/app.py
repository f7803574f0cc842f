"""The ASGI application: API prefixes, health, the OpenAPI document and the one error shape."""

from __future__ import annotations

import hmac
import logging

import orjson
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from registry_local.errors import (
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RegistryError,
    Unauthorized,
)
from registry_local.handlers import build_router
from registry_local.http_api import DIALECTS, Call, Registry, Router
from registry_local.openapi import served_yaml
from registry_local.settings import Settings
from registry_local.store import Store

logger = logging.getLogger("registry_local")
API_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS"]
JSON = "application/json"


def json_response(status: int, payload: object) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON)


def error_response(error: RegistryError) -> Response:
    return json_response(error.status, {"code": error.code, "message": error.message})


class RegistryApi:
    """Serves `/api/model_registry/{version}/...` for the three supported versions."""

    def __init__(self, settings: Settings, registry: Registry, router: Router) -> None:
        self.settings = settings
        self.registry = registry
        self.router = router

    async def handle(self, request: Request) -> Response:
        dialect = DIALECTS.get(request.path_params["version"])
        if dialect is None:
            raise NotFound(f"no such API version: {request.path_params['version']!r}")
        self.authorize(request)
        handler, entity_id = self.router.match(request.method, request.path_params["path"])
        body = await self.read_body(request) if request.method in ("POST", "PATCH") else b""
        call = Call(self.registry, dialect, request.query_params, body, entity_id)
        status, payload = handler(call)
        return json_response(status, payload)

    def authorize(self, request: Request) -> None:
        token = self.settings.auth_token
        if token is None:
            return
        presented = request.headers.get("authorization", "")
        if not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
            raise Unauthorized("missing or wrong bearer token")

    async def read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise PayloadTooLarge(f"request body is larger than {limit} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body is larger than {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def create_app(settings: Settings, engine: Engine) -> Starlette:
    """The registry app on an engine whose schema is already migrated."""
    store = Store(engine)
    api = RegistryApi(settings, Registry(store), build_router())

    async def health(_request: Request) -> Response:
        store.ping()
        return json_response(200, {"status": "OK"})

    async def openapi(request: Request) -> Response:
        if request.path_params["version"] not in DIALECTS:
            raise NotFound(f"no such API version: {request.path_params['version']!r}")
        return Response(served_yaml(), media_type="application/yaml")

    routes = [
        Route("/readyz/health", health),
        Route("/api/model_registry/{version}/openapi.yaml", openapi),
        Route("/api/model_registry/{version}/{path:path}", api.handle, methods=API_METHODS),
    ]
    handlers = {
        RegistryError: lambda _request, exc: error_response(exc),
        HTTPException: _http_error,
        Exception: _crash,
    }
    return Starlette(routes=routes, exception_handlers=handlers)


def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_response(MethodNotAllowed(f"method not allowed: {exc.detail}"))
    if exc.status_code == 404:
        return error_response(NotFound("no such path"))
    error = RegistryError(str(exc.detail))
    error.status = exc.status_code
    return error_response(error)


def _crash(_request: Request, exc: Exception) -> Response:
    logger.error("unexpected error", exc_info=exc)
    return error_response(RegistryError("internal server error"))
