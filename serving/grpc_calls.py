"""gRPC over our HTTP/2 connection: method routing, message framing, status trailers.

The gRPC wire protocol (grpc/doc/PROTOCOL-HTTP2.md) on `serving.http2`: a request is a
POST to `/<service>/<method>` with `content-type: application/grpc`; each message is a
5-byte prefix (compressed flag, 4-byte big-endian length) and a protobuf; the answer is
`:status 200` headers, the framed messages, and trailers with `grpc-status` and a
percent-encoded `grpc-message` (only trailers when it fails before answering).

A unary call runs as one asyncio task once its request has fully arrived; a streaming
call's task starts with the headers and reads its requests from an async iterator. A
handler fails a call by raising `RpcError`; anything else is logged and answered INTERNAL.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from serving.http2 import Headers, Http2Connection
from serving.http2_frames import ProtocolFailure, literal, status_block

log = logging.getLogger("serving")

PREFIX_BYTES = 5
TIMEOUT_UNITS = {b"H": 3600.0, b"M": 60.0, b"S": 1.0, b"m": 1e-3, b"u": 1e-6, b"n": 1e-9}
MAX_GRPC_MESSAGE = 1024  # characters of a status message sent
# Where a joined body's bulk data starts: a multiple of the largest number size (8 bytes),
# counted from the start of a `bytes` object's data, which CPython allocates 16-aligned.
ALIGNMENT = 8
HEAD_BYTES = 4096  # of a body, searched for where its bulk data starts


class StatusCode(IntEnum):
    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    RESOURCE_EXHAUSTED = 8
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    UNAUTHENTICATED = 16


class RpcError(ProtocolFailure[StatusCode]):
    """Ends a call with `code` and `reason` (grpc-message: the client's `details()`)."""


@dataclass(frozen=True)
class Method:
    """One RPC: its request message class and handler. A unary handler takes (request,
    context) and returns the answer; a streaming one takes (request iterator, context)
    and yields answers (server-streaming and bidirectional alike)."""

    request_type: Any
    handler: Callable[..., Any]
    streaming: bool = False


class CallContext:
    """What a handler may ask about its call: the request metadata (lower-case names)."""

    __slots__ = ("headers",)

    def __init__(self, headers: Headers) -> None:
        self.headers = headers

    def metadata(self) -> dict[str, str]:
        return {name.decode("latin-1"): value.decode("latin-1")
                for name, value in self.headers if not name.startswith(b":")}  # fmt: skip


def percent_encoded(message: str) -> bytes:
    """A `grpc-message` value: printable ASCII but '%' as is, every other byte %XX."""
    return b"".join(
        bytes((byte,)) if 0x20 <= byte <= 0x7E and byte != 0x25 else b"%%%02X" % byte
        for byte in message[:MAX_GRPC_MESSAGE].encode()
    )


def status_trailers(code: StatusCode, message: str = "") -> bytes:
    block = literal(b"grpc-status", str(int(code)).encode())
    return block + literal(b"grpc-message", percent_encoded(message)) if message else block


RESPONSE_HEAD = status_block(200, b"application/grpc")
OK_TRAILERS = status_trailers(StatusCode.OK)
IDENTITY_ONLY = literal(b"grpc-accept-encoding", b"identity")


def framed(message: bytes) -> bytes:
    return b"\x00" + len(message).to_bytes(4, "big") + message


def timeout_seconds(value: bytes) -> float | None:
    """A `grpc-timeout` value (1-8 digits and a unit) in seconds; None if malformed."""
    digits, unit = value[:-1], value[-1:]
    if not digits.isdigit() or len(digits) > 8 or unit not in TIMEOUT_UNITS:
        return None
    return int(digits) * TIMEOUT_UNITS[unit]


class GrpcRouter:
    """Opens a `GrpcCall` for each request stream, by its `:path`."""

    def __init__(self, methods: dict[str, Method], max_message_bytes: int) -> None:
        self.methods = methods
        self.max_message_bytes = max_message_bytes

    def open_call(self, connection: Http2Connection, stream_id: int, headers: Headers) -> GrpcCall:
        request = {name: value for name, value in headers if name in REQUEST_HEADERS}
        method = self.methods.get(request.get(b":path", b"").decode("latin-1"))
        call = GrpcCall(connection, stream_id, method, headers, self.max_message_bytes)
        refusal = refusal_of(request, method)
        if refusal is not None:
            call.refuse(refusal)
        else:
            call.start(request.get(b"grpc-timeout"))
        return call


REQUEST_HEADERS = frozenset(
    (b":method", b":path", b"content-type", b"grpc-encoding", b"grpc-timeout")
)


def refusal_of(request: dict[bytes, bytes], method: Method | None) -> bytes | None:
    """The trailers-only answer to a request gRPC cannot take: status headers + status."""
    content_type = request.get(b"content-type", b"")
    if request.get(b":method") != b"POST":
        return refused(405, StatusCode.INTERNAL, "gRPC calls are POST requests")
    if not content_type.startswith(b"application/grpc"):
        message = f"content-type {content_type.decode('latin-1')!r} is not gRPC"
        return refused(415, StatusCode.INTERNAL, message)
    if method is None:
        path = request.get(b":path", b"").decode("latin-1")
        return refused(200, StatusCode.UNIMPLEMENTED, f"Method not found: {path}")
    encoding = request.get(b"grpc-encoding", b"identity")
    if encoding != b"identity":
        message = f"grpc-encoding {encoding.decode('latin-1')} is not supported"
        return refused(200, StatusCode.UNIMPLEMENTED, message) + IDENTITY_ONLY
    return None


def refused(http_status: int, code: StatusCode, message: str) -> bytes:
    return status_block(http_status, b"application/grpc") + status_trailers(code, message)


class GrpcCall:
    """One call on one stream: gathers its request messages, runs its handler, answers."""

    __slots__ = ("body", "connection", "context", "deadline", "done", "expired", "head_sent",
                 "held", "limit", "method", "needed", "prefixed", "queue", "size", "stream_id",
                 "task")  # fmt: skip

    def __init__(self, connection: Http2Connection, stream_id: int, method: Method | None,
                 headers: Headers, max_message_bytes: int) -> None:  # fmt: skip
        self.connection = connection
        self.stream_id = stream_id
        self.method = method
        self.context = CallContext(headers)
        self.limit = max_message_bytes
        self.body: list[bytes | memoryview] = []
        self.size = self.held = 0
        self.needed = PREFIX_BYTES  # bytes to wait for: the prefix, then the whole message
        self.done = self.expired = self.head_sent = self.prefixed = False
        self.task: asyncio.Task[None] | None = None
        self.deadline: asyncio.TimerHandle | None = None
        self.queue: asyncio.Queue[tuple[Any, int] | None] | None = None

    def refuse(self, block: bytes) -> None:
        """Answer at once with `block`: status headers and gRPC status, trailers only."""
        self.done = True
        self.connection.send(self.stream_id, trailers=block)

    def start(self, timeout: bytes | None) -> None:
        seconds = timeout_seconds(timeout) if timeout else None
        if seconds is not None:
            self.deadline = asyncio.get_running_loop().call_later(seconds, self.expire)
        if self.method is not None and self.method.streaming:
            self.queue = asyncio.Queue()
            self.task = asyncio.get_running_loop().create_task(self.run(self.answer_stream))

    # --- request bytes, from the connection ---------------------------------------------

    def data(self, chunk: bytes | memoryview) -> None:
        """Request bytes: held (the client's window not given back) until a message is
        taken, so what a connection holds is bounded by its window."""
        if self.done:
            self.connection.consumed(self.stream_id, len(chunk))
            return
        self.held += len(chunk)
        self.body.append(chunk)
        self.size += len(chunk)
        if self.size < self.needed:
            return  # bytes are joined only once a whole message (or prefix) is in
        if self.queue is not None:
            self.deliver_messages()
        elif not self.prefixed:
            self.prefixed = True
            if len(self.body[0]) < PREFIX_BYTES:  # a prefix cut across pieces
                self.body = [b"".join(self.body)]
            length = self.declared_length(self.body[0])
            self.needed = PREFIX_BYTES + length
            self.check_length(length)
        else:
            self.check_length(self.size - PREFIX_BYTES)  # more than the one message

    @staticmethod
    def declared_length(buffer: bytes | memoryview, start: int = 0) -> int:
        return int.from_bytes(buffer[start + 1 : start + PREFIX_BYTES], "big")

    def check_length(self, length: int) -> None:
        if length > self.limit:
            message = f"Received message larger than max ({length} vs. {self.limit})"
            self.finish(StatusCode.RESOURCE_EXHAUSTED, message)

    def end(self) -> None:
        if self.done:
            return
        if self.queue is not None:
            self.end_of_stream()
            return
        body = self.joined()
        self.body = []
        self.release()
        try:
            request = self.single_message(body)
        except RpcError as error:
            self.finish(error.code, error.reason)
            return
        self.task = asyncio.get_running_loop().create_task(self.run(self.answer_unary, request))

    def joined(self) -> bytes | memoryview:
        """The request body in one buffer. Pieces are copied into it so that the request
        type's bulk data (at its `bulk_offset`, for a type that has one) starts aligned:
        numpy's checks on unaligned numbers run at half speed."""
        if len(self.body) == 1:
            return self.body[0]
        assert self.method is not None
        bulk_offset = getattr(self.method.request_type, "bulk_offset", None)
        offset = bulk_offset(memoryview(self.head())[PREFIX_BYTES:]) if bulk_offset else None
        if offset is None:
            return b"".join(self.body)
        skip = -(PREFIX_BYTES + offset) % ALIGNMENT
        return memoryview(b"".join([bytes(skip), *self.body]))[skip:]

    def head(self) -> bytes:
        """The body's first `HEAD_BYTES` (or all of it), where a request type's fields before
        its bulk data are."""
        parts, size = [], 0
        for piece in self.body:
            parts.append(piece[: HEAD_BYTES - size])
            size += len(parts[-1])
            if size == HEAD_BYTES:
                break
        return b"".join(parts)

    def single_message(self, body: bytes | memoryview) -> Any:
        assert self.method is not None
        if (
            len(body) < PREFIX_BYTES
            or int.from_bytes(body[1:PREFIX_BYTES], "big") != len(body) - PREFIX_BYTES
        ):
            raise RpcError(
                StatusCode.INVALID_ARGUMENT, "a unary call takes exactly one request message"
            )
        return self.parsed(body[0], memoryview(body)[PREFIX_BYTES:])

    def parsed(self, compressed: int, message: memoryview) -> Any:
        assert self.method is not None
        if compressed:
            raise RpcError(StatusCode.INTERNAL, "a compressed message without grpc-encoding")
        try:
            return self.method.request_type.FromString(message)
        except Exception:  # protobuf's DecodeError, or a message its parser refuses
            name = self.method.request_type.DESCRIPTOR.full_name
            raise RpcError(
                StatusCode.INVALID_ARGUMENT, f"the request is not a valid {name}"
            ) from None

    def release(self) -> None:
        """Give the client back the window of every byte held."""
        if self.held:
            self.connection.consumed(self.stream_id, self.held)
            self.held = 0

    def cancel(self) -> None:
        """The client reset the stream or went away: stop, answer nothing."""
        self.done = True
        self.release()
        self.stop_deadline()
        if self.task is not None:
            self.task.cancel()

    def expire(self) -> None:
        self.deadline = None
        if self.task is None or self.task.done():
            self.finish(StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
        else:
            self.expired = True
            self.task.cancel()

    def stop_deadline(self) -> None:
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None

    # --- answers ------------------------------------------------------------------------

    async def run(self, answering: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run the handler's work: its RpcError, a deadline or a failure end the call.
        (The coroutine is made here: a task cancelled before it starts leaves none unawaited.)"""
        try:
            await answering(*args)
        except asyncio.CancelledError:
            if self.expired:
                self.finish(StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")
        except RpcError as error:
            self.finish(error.code, error.reason)
        except Exception:
            assert self.method is not None
            log.exception("unexpected error in gRPC %s", self.method.handler.__name__)
            self.finish(StatusCode.INTERNAL, "internal server error")

    async def answer_unary(self, request: Any) -> None:
        assert self.method is not None
        answer = await self.method.handler(request, self.context)
        self.stop_deadline()
        if not self.done:
            self.done = True
            body = framed(answer.SerializeToString())
            self.connection.send(self.stream_id, RESPONSE_HEAD, body, OK_TRAILERS)

    async def answer_stream(self) -> None:
        assert self.method is not None
        async for answer in self.method.handler(self.requests(), self.context):
            self.send_message(answer)
            await self.connection.drained(self.stream_id)
        self.finish(StatusCode.OK)

    def send_message(self, answer: Any) -> None:
        if self.done:
            return
        head = None if self.head_sent else RESPONSE_HEAD
        self.head_sent = True
        self.connection.send(self.stream_id, head, framed(answer.SerializeToString()))

    def finish(self, code: StatusCode, message: str = "") -> None:
        """End the call with `code`: trailers (with the status headers if none were sent)."""
        if self.done:
            return
        self.done = True
        self.release()
        self.stop_deadline()
        trailers = status_trailers(code, message)
        self.connection.send(
            self.stream_id, trailers=trailers if self.head_sent else RESPONSE_HEAD + trailers
        )
        if self.task is not None and asyncio.current_task() is not self.task:
            self.task.cancel()

    # --- streaming requests ---------------------------------------------------------------

    def deliver_messages(self) -> None:
        """Queue each complete message of the stream's bytes for the handler."""
        assert self.queue is not None
        buffer = b"".join(self.body)
        start = 0
        while len(buffer) - start >= PREFIX_BYTES and not self.done:
            length = self.declared_length(buffer, start)
            self.check_length(length)
            end = start + PREFIX_BYTES + length
            if len(buffer) < end or self.done:
                break
            try:
                message = self.parsed(buffer[start], memoryview(buffer)[start + PREFIX_BYTES : end])
            except RpcError as error:
                self.finish(error.code, error.reason)
                return
            self.queue.put_nowait((message, end - start))
            start = end
        self.body = [buffer[start:]] if len(buffer) > start else []
        self.size = len(buffer) - start
        whole = self.size >= PREFIX_BYTES  # the next message's length is known
        self.needed = PREFIX_BYTES + self.declared_length(buffer, start) if whole else PREFIX_BYTES

    def end_of_stream(self) -> None:
        assert self.queue is not None
        if self.size:
            self.finish(StatusCode.INVALID_ARGUMENT, "the stream ended inside a message")
        self.queue.put_nowait(None)

    async def requests(self) -> AsyncIterator[Any]:
        assert self.queue is not None
        while (item := await self.queue.get()) is not None and not self.done:
            message, size = item
            self.held -= size
            self.connection.consumed(self.stream_id, size)
            yield message
