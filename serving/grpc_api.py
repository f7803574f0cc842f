"""The gRPC front end: KServe v2 / Open Inference Protocol `inference.GRPCInferenceService`.

A thin servicer over the same `DataPlane` as REST: protobuf → `serving.types` (by
`grpc_codec`) → data plane → protobuf. Also `grpc.health.v1` health checking and server
reflection, so `grpcurl` and `grpc_health_probe` work. Runs on the REST server's event loop.
"""

from __future__ import annotations

import functools
import hmac
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

from serving.batching import REQUEST_TASKS
from serving.dataplane import DataPlane
from serving.errors import ModelNotFound, ModelNotReady, ServingError, Unauthorized
from serving.grpc_codec import (
    decode_infer,
    encode_infer,
    load_parameters,
    model_metadata,
    repository_answer,
    repository_index,
    repository_model_name,
)

log = logging.getLogger("serving")

SERVICE = pb.DESCRIPTOR.services_by_name["GRPCInferenceService"].full_name
# The HTTP status on each `ServingError` class → the gRPC code Triton and KServe give.
STATUS_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    404: grpc.StatusCode.NOT_FOUND,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    415: grpc.StatusCode.INVALID_ARGUMENT,
    503: grpc.StatusCode.UNAVAILABLE,
}
# Tasks one unary call occupies in grpc.aio 1.8x (measured: a lone call sees 2 more tasks
# than a lone REST request), so the batcher can tell a lone call from concurrent ones.
GRPC_CALL_TASKS = 3
Handler = TypeVar("Handler", bound=Callable[..., Awaitable[Any]])


@dataclass(frozen=True)
class GrpcSettings:
    host: str = "127.0.0.1"
    port: int = 8033
    max_message_bytes: int = 64 * 1024 * 1024
    auth_token: str = ""


def status_code(error: ServingError) -> grpc.StatusCode:
    return STATUS_CODES.get(error.status, grpc.StatusCode.INTERNAL)


def reported(handler: Handler) -> Handler:
    """Turn a `ServingError` into its gRPC status, and anything else into INTERNAL."""

    @functools.wraps(handler)
    async def wrapper(self: InferenceServicer, request: Any, context: Any) -> Any:
        try:
            return await handler(self, request, context)
        except ServingError as exc:
            await context.abort(status_code(exc), exc.message)
        except Exception:
            log.exception("unexpected error in gRPC %s", handler.__name__)
            await context.abort(grpc.StatusCode.INTERNAL, "internal server error")

    return wrapper  # type: ignore[return-value]


class InferenceServicer(pb_grpc.GRPCInferenceServiceServicer):
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
        REQUEST_TASKS.set(GRPC_CALL_TASKS)  # this call's task only: a copied context
        name, version = request.model_name, request.model_version or None
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

    def authorize(self, context: Any) -> None:
        """The repository RPCs' rule, as REST's: metadata `authorization: Bearer <token>`."""
        if not self.auth_token:
            return
        metadata = dict(context.invocation_metadata() or ())
        scheme, _, credentials = str(metadata.get("authorization", "")).partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            credentials.encode(), self.auth_token.encode()
        ):
            raise Unauthorized("the repository RPCs need metadata 'authorization: Bearer <token>'")


class GrpcServer:
    """The gRPC listener of the inference server: inference service, health, reflection."""

    def __init__(self, dataplane: DataPlane, settings: GrpcSettings) -> None:
        self.server = grpc.aio.server(
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", -1),
                ("grpc.so_reuseport", 0),  # a taken port fails the start, as for REST
            ]
        )
        servicer = InferenceServicer(dataplane, settings.auth_token)
        pb_grpc.add_GRPCInferenceServiceServicer_to_server(servicer, self.server)
        self.health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        services = (SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME)
        reflection.enable_server_reflection(services, self.server)
        self.address = f"{bracketed(settings.host)}:{settings.port}"

    async def start(self) -> None:
        """Listen (RuntimeError when the port is taken) and report every service serving."""
        try:
            self.server.add_insecure_port(self.address)
        except RuntimeError:
            raise SystemExit(
                f"cannot listen for gRPC on {self.address} (port taken?): set "
                "SERVING_GRPC_PORT / --grpc-port to another port, or 0 for no gRPC"
            ) from None
        await self.server.start()
        for service in ("", SERVICE):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info("gRPC inference service on %s", self.address)

    async def stop(self, grace: float) -> None:
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


def bracketed(host: str) -> str:
    """An IPv6 literal in brackets, as a gRPC listen address needs."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
