"""The gRPC front end: KServe v2 / Open Inference Protocol `inference.GRPCInferenceService`.

A thin servicer over the same `DataPlane` as REST: protobuf → `serving.types` (by
`grpc_codec`) → data plane → protobuf. Beside it `grpc.health.v1` health checking and server
reflection (`grpc_services`), so `grpcurl` and `grpc_health_probe` work. Served by our own
HTTP/2 + gRPC server (`http2`, `grpc_calls`) on the REST server's event loop.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from google.protobuf.message_factory import GetMessageClass
from tritonclient.grpc import service_pb2 as pb

from serving.dataplane import DataPlane
from serving.errors import ModelNotFound, ModelNotReady, ServingError, Unauthorized
from serving.grpc_calls import PREFIX_BYTES, CallContext, GrpcRouter, Method, RpcError, StatusCode
from serving.grpc_codec import (
    InferRequestParser,
    decode_infer,
    encode_infer,
    load_parameters,
    model_metadata,
    repository_answer,
    repository_index,
    repository_model_name,
)
from serving.grpc_services import (
    HEALTH_SERVICE,
    NOT_SERVING,
    REFLECTION_SERVICE,
    SERVING,
    HealthService,
    ReflectionService,
)
from serving.http2 import Http2Connection, Http2Limits
from serving.http2_frames import MAX_WINDOW

log = logging.getLogger("serving")

SERVICE_DESCRIPTOR = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"]
SERVICE = SERVICE_DESCRIPTOR.full_name
# RPCs whose request is not parsed by the generated message class alone
REQUEST_PARSERS = {"ModelInfer": InferRequestParser}
# The HTTP status on each `ServingError` class → the gRPC code Triton and KServe give.
STATUS_CODES = {
    400: StatusCode.INVALID_ARGUMENT,
    401: StatusCode.UNAUTHENTICATED,
    404: StatusCode.NOT_FOUND,
    413: StatusCode.RESOURCE_EXHAUSTED,
    415: StatusCode.INVALID_ARGUMENT,
    503: StatusCode.UNAVAILABLE,
}
MIN_RECEIVE_WINDOW = 1 << 20
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True)
class GrpcSettings:
    host: str = "127.0.0.1"
    port: int = 8033
    max_message_bytes: int = 64 * 1024 * 1024
    auth_token: str = ""
    read_timeout: float = 30.0


def status_code(error: ServingError) -> StatusCode:
    return STATUS_CODES.get(error.status, StatusCode.INTERNAL)


def reported(handler: Handler) -> Handler:
    """Turn a `ServingError` into its gRPC status (anything else: INTERNAL, by grpc_calls)."""

    @functools.wraps(handler)
    async def wrapper(self: InferenceServicer, request: Any, context: CallContext) -> Any:
        try:
            return await handler(self, request, context)
        except ServingError as exc:
            raise RpcError(status_code(exc), exc.message) from None

    return wrapper  # type: ignore[return-value]


class InferenceServicer:
    """`inference.GRPCInferenceService` over the data plane (RPCs it lacks: UNIMPLEMENTED)."""

    def __init__(self, dataplane: DataPlane, auth_token: str = "") -> None:
        self.dataplane = dataplane
        self.auth_token = auth_token

    async def ServerLive(self, request: Any, context: Any) -> Any:
        return pb.ServerLiveResponse(live=True)

    async def ServerReady(self, request: Any, context: Any) -> Any:
        return pb.ServerReadyResponse(ready=True)

    @reported
    async def ModelReady(self, request: Any, context: Any) -> Any:
        """Triton's answer: `ready: false` (not an error) for a model loading or unknown."""
        try:
            ready = self.dataplane.model_ready(request.name, request.version or None)
        except (ModelNotFound, ModelNotReady):
            ready = False
        return pb.ModelReadyResponse(ready=ready)

    @reported
    async def ServerMetadata(self, request: Any, context: Any) -> Any:
        return pb.ServerMetadataResponse(**self.dataplane.server_metadata())

    @reported
    async def ModelMetadata(self, request: Any, context: Any) -> Any:
        metadata = self.dataplane.model_metadata(request.name, request.version or None)
        return model_metadata(metadata)

    @reported
    async def ModelInfer(self, request: Any, context: Any) -> Any:
        name, version = request.message.model_name, request.message.model_version or None
        try:
            self.dataplane.model_ready(name, version)
            neutral, raw = decode_infer(request)
            response = await self.dataplane.infer(name, version, neutral)
            return encode_infer(response, raw)
        except ServingError as exc:
            self.dataplane.count_failure(name, exc)
            raise

    @reported
    async def RepositoryIndex(self, request: Any, context: Any) -> Any:
        self.authorize(context)
        return repository_index(self.dataplane.index(request.ready))

    @reported
    async def RepositoryModelLoad(self, request: Any, context: Any) -> Any:
        self.authorize(context)
        name = repository_model_name(request)
        await self.dataplane.load(name, load_parameters(request.parameters))
        return repository_answer(pb.RepositoryModelLoadResponse, name)

    @reported
    async def RepositoryModelUnload(self, request: Any, context: Any) -> Any:
        self.authorize(context)
        name = repository_model_name(request)
        await self.dataplane.unload(name)
        return repository_answer(pb.RepositoryModelUnloadResponse, name)

    def authorize(self, context: CallContext) -> None:
        """The repository RPCs' rule, as REST's: metadata `authorization: Bearer <token>`."""
        if not self.auth_token:
            return
        scheme, _, credentials = context.metadata().get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.encode(), self.auth_token.encode()
        ):
            raise Unauthorized("the repository RPCs need metadata 'authorization: Bearer <token>'")

    def methods(self) -> dict[str, Method]:
        """Each RPC of the service this class implements, by its request path."""
        return {
            f"/{SERVICE}/{rpc.name}": Method(
                REQUEST_PARSERS.get(rpc.name) or GetMessageClass(rpc.input_type),
                getattr(self, rpc.name),
            )
            for rpc in SERVICE_DESCRIPTOR.methods
            if hasattr(self, rpc.name)
        }


class GrpcServer:
    """The gRPC listener of the inference server: inference service, health, reflection."""

    def __init__(self, dataplane: DataPlane, settings: GrpcSettings) -> None:
        self.settings = settings
        services = (SERVICE, HEALTH_SERVICE, REFLECTION_SERVICE)
        self.health = HealthService((SERVICE,))
        methods = {
            **InferenceServicer(dataplane, settings.auth_token).methods(),
            **self.health.methods(),
            **ReflectionService(services).methods(),
        }
        self.router = GrpcRouter(methods, settings.max_message_bytes)
        # Room for two whole messages at once per connection (a message's window is given
        # back once it is in): what a connection holds unanswered is bounded by this.
        window = max(MIN_RECEIVE_WINDOW, 2 * (settings.max_message_bytes + PREFIX_BYTES))
        self.limits = Http2Limits(
            receive_window=min(window, MAX_WINDOW), read_timeout=settings.read_timeout
        )
        self.connections: set[Http2Connection] = set()
        self.listener: asyncio.Server | None = None
        self.address = f"{bracketed(settings.host)}:{settings.port}"

    def connection(self) -> Http2Connection:
        return Http2Connection(self.router, self.limits, self.connections)

    async def start(self) -> None:
        """Listen (SystemExit naming the setting when the port is taken); report SERVING."""
        loop = asyncio.get_running_loop()
        try:
            self.listener = await loop.create_server(
                self.connection, self.settings.host, self.settings.port
            )
        except OSError:
            raise SystemExit(
                f"cannot listen for gRPC on {self.address} (port taken?): set "
                "SERVING_GRPC_PORT / --grpc-port to another port, or 0 for no gRPC"
            ) from None
        self.health.set_all(SERVING)
        log.info("gRPC inference service on %s", self.address)

    async def stop(self, grace: float) -> None:
        """NOT_SERVING, no new connections, GOAWAY; calls under way get `grace` seconds."""
        self.health.set_all(NOT_SERVING)
        if self.listener is not None:
            self.listener.close()
        for connection in list(self.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self.connections and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(self.connections):
            connection.transport.close()


def bracketed(host: str) -> str:
    """An IPv6 literal in brackets, as in a gRPC address."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
