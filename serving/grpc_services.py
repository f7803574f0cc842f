"""The standard gRPC services beside inference: `grpc.health.v1.Health` and server reflection.

So `grpc_health_probe` and `grpcurl` work. Reflection answers from protobuf's default
descriptor pool (where the generated modules put their files), for `grpc.reflection.v1alpha`
and `grpc.reflection.v1` alike: their messages are the same on the wire.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from serving.grpc_calls import CallContext, Method, RpcError, StatusCode

HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
REFLECTION_SERVICE = reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"].full_name
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class HealthService:
    """Serving status of the server ("") and of each service; Watch streams changes."""

    def __init__(self, services: Iterable[str]) -> None:
        self.statuses = dict.fromkeys(["", *services], NOT_SERVING)
        self.watchers: set[asyncio.Queue[None]] = set()

    def set_all(self, status: int) -> None:
        self.statuses = dict.fromkeys(self.statuses, status)
        for watcher in self.watchers:
            watcher.put_nowait(None)

    async def check(self, request: Any, context: CallContext) -> Any:
        status = self.statuses.get(request.service)
        if status is None:
            raise RpcError(StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    async def watch(self, requests: AsyncIterator[Any], context: CallContext) -> AsyncIterator[Any]:
        request = await anext(requests, None)
        if request is None:
            raise RpcError(StatusCode.INVALID_ARGUMENT, "Watch needs a HealthCheckRequest")
        changed: asyncio.Queue[None] = asyncio.Queue()
        self.watchers.add(changed)
        try:
            last = None
            while True:
                status = self.statuses.get(request.service, SERVICE_UNKNOWN)
                if status != last:
                    yield health_pb2.HealthCheckResponse(status=status)
                    last = status
                await changed.get()
        finally:
            self.watchers.discard(changed)

    def methods(self) -> dict[str, Method]:
        return {
            f"/{HEALTH_SERVICE}/Check": Method(health_pb2.HealthCheckRequest, self.check),
            f"/{HEALTH_SERVICE}/Watch": Method(health_pb2.HealthCheckRequest, self.watch, True),
        }


class ReflectionService:
    """`ServerReflectionInfo`: the listed services and the descriptor files behind them."""

    def __init__(self, services: Iterable[str]) -> None:
        self.services = sorted(services)
        self.pool = descriptor_pool.Default()

    async def info(self, requests: AsyncIterator[Any], context: CallContext) -> AsyncIterator[Any]:
        async for request in requests:
            yield self.answer(request)

    def answer(self, request: Any) -> Any:
        kind = request.WhichOneof("message_request")
        try:
            answer = self.answer_of(kind, request)
        except KeyError:
            code = StatusCode.NOT_FOUND
            error = reflection_pb2.ErrorResponse(error_code=code, error_message=f"{kind} not found")
            answer = reflection_pb2.ServerReflectionResponse(error_response=error)
        answer.valid_host = request.host
        answer.original_request.CopyFrom(request)
        return answer

    def answer_of(self, kind: str | None, request: Any) -> Any:
        response = reflection_pb2.ServerReflectionResponse
        if kind == "list_services":
            names = [reflection_pb2.ServiceResponse(name=name) for name in self.services]
            return response(
                list_services_response=reflection_pb2.ListServiceResponse(service=names)
            )
        if kind == "file_by_filename":
            return self.files(self.pool.FindFileByName(request.file_by_filename))
        if kind == "file_containing_symbol":
            return self.files(self.pool.FindFileContainingSymbol(request.file_containing_symbol))
        if kind == "file_containing_extension":
            ask = request.file_containing_extension
            message = self.pool.FindMessageTypeByName(ask.containing_type)
            extension = self.pool.FindExtensionByNumber(message, ask.extension_number)
            return self.files(extension.file)
        if kind == "all_extension_numbers_of_type":
            message = self.pool.FindMessageTypeByName(request.all_extension_numbers_of_type)
            numbers = sorted(extension.number for extension in self.pool.FindAllExtensions(message))
            answer = reflection_pb2.ExtensionNumberResponse(
                base_type_name=message.full_name, extension_number=numbers
            )
            return response(all_extension_numbers_response=answer)
        raise KeyError(kind)

    def files(self, descriptor: Any) -> Any:
        """The file of `descriptor` and every file it depends on, serialized."""
        found = {descriptor.name: descriptor}
        pending = [descriptor]
        while pending:
            for dependency in pending.pop().dependencies:
                if dependency.name not in found:
                    found[dependency.name] = dependency
                    pending.append(dependency)
        protos = []
        for file in found.values():
            proto = descriptor_pb2.FileDescriptorProto()
            file.CopyToProto(proto)
            protos.append(proto.SerializeToString())
        files = reflection_pb2.FileDescriptorResponse(file_descriptor_proto=protos)
        return reflection_pb2.ServerReflectionResponse(file_descriptor_response=files)

    def methods(self) -> dict[str, Method]:
        request = reflection_pb2.ServerReflectionRequest
        return {
            f"/{service}/ServerReflectionInfo": Method(request, self.info, True)
            for service in (REFLECTION_SERVICE, REFLECTION_V1)
        }
