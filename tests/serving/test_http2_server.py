"""Our HTTP/2 + gRPC server (serving/http2.py, serving/grpc_calls.py) in-process, on loopback:
a stock grpcio client and hand-built frames, each bad input beside a good call, and after
every bad one the server still answers a good call."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc
import hpack
import pytest
from grpc_health.v1 import health_pb2
from h2_probe import RawH2, data_of, frames_of, goaway_code, grpc_framed, reset_codes

from serving.batching import TaskCount
from serving.grpc_calls import CallContext, GrpcRouter, Method, RpcError, StatusCode
from serving.http2 import Http2Connection, Http2Limits
from serving.http2_frames import (
    END_HEADERS,
    END_STREAM,
    PADDED,
    PREFACE,
    ErrorCode,
    FrameType,
    Setting,
    frame,
    rst_stream,
    settings_frame,
    window_update,
)
from serving.http2_hpack import HeaderDecoder

Request = health_pb2.HealthCheckRequest  # any small message: `service` carries the text
MAX_MESSAGE = 65536
LIMITS = Http2Limits(receive_window=1 << 20, max_streams=4, max_header_block_bytes=8192,
                     read_timeout=1.0)  # fmt: skip


async def echo(request: Any, context: CallContext) -> Any:
    return Request(service=request.service)


async def slow(request: Any, context: CallContext) -> Any:
    await asyncio.sleep(float(request.service))
    return Request(service="late")


async def refuse(request: Any, context: CallContext) -> Any:
    raise RpcError(StatusCode.NOT_FOUND, f"no {request.service} here: 100%")


async def chat(requests: AsyncIterator[Any], context: CallContext) -> AsyncIterator[Any]:
    async for request in requests:
        yield Request(service=request.service.upper())


async def hold(requests: AsyncIterator[Any], context: CallContext) -> AsyncIterator[Any]:
    """Reads none of its requests: the client's window is not given back."""
    await asyncio.sleep(30)
    yield Request()


def methods(tasks: TaskCount) -> dict[str, Method]:
    async def alone(request: Any, context: CallContext) -> Any:
        return Request(service=str(not tasks.others_under_way()))

    return {
        "/test.Echo/Echo": Method(Request, echo),
        "/test.Echo/Slow": Method(Request, slow),
        "/test.Echo/Refuse": Method(Request, refuse),
        "/test.Echo/Alone": Method(Request, alone),
        "/test.Echo/Chat": Method(Request, chat, streaming=True),
        "/test.Echo/Hold": Method(Request, hold, streaming=True),
    }


@dataclass(frozen=True)
class Running:
    port: int
    loop: asyncio.AbstractEventLoop
    connections: set[Http2Connection]


@contextmanager
def running_server() -> Iterator[Running]:
    """The server on 127.0.0.1 (free port) in its own event loop thread; stopped on exit."""
    loop = asyncio.new_event_loop()
    tasks = TaskCount()
    router = GrpcRouter(methods(tasks), MAX_MESSAGE)
    connections: set[Http2Connection] = set()

    async def listen() -> asyncio.Server:
        tasks.start()
        return await loop.create_server(
            lambda: Http2Connection(router, LIMITS, connections), "127.0.0.1", 0
        )

    server = loop.run_until_complete(listen())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield Running(server.sockets[0].getsockname()[1], loop, connections)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        server.close()
        for connection in list(connections):
            connection.transport.close()
        loop.run_until_complete(server.wait_closed())
        loop.close()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with running_server() as running:
        yield running.port


@pytest.fixture
def raw(port: int) -> Iterator[RawH2]:
    client = RawH2(port)
    yield client
    client.close()


def call(port: int, method: str, text: str, timeout: float = 5) -> str:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = channel.unary_unary(method, Request.SerializeToString, Request.FromString)
        return str(stub(Request(service=text), timeout=timeout).service)


def still_serving(port: int) -> None:
    assert call(port, "/test.Echo/Echo", "still here") == "still here"


# --- stock client --------------------------------------------------------------------------


def test_a_stock_client_calls_and_gets_the_answer(port: int) -> None:
    assert call(port, "/test.Echo/Echo", "hello") == "hello"
    assert call(port, "/test.Echo/Echo", "é" * 20000) == "é" * 20000  # 40 KB: 3 DATA frames


def test_a_stock_client_streams_both_ways(port: int) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = channel.stream_stream(
            "/test.Echo/Chat", Request.SerializeToString, Request.FromString
        )
        answers = stub(iter([Request(service="a"), Request(service="b")]), timeout=5)
        assert [answer.service for answer in answers] == ["A", "B"]


def test_an_rpc_error_reaches_the_client_with_its_code_and_message(port: int) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(port, "/test.Echo/Refuse", "cake")
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    assert caught.value.details() == "no cake here: 100%"
    still_serving(port)


def test_an_unknown_method_is_unimplemented(port: int) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(port, "/test.Echo/Nothing", "x")
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
    still_serving(port)


def test_the_client_deadline_ends_a_slow_call(port: int) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(port, "/test.Echo/Slow", "2", timeout=0.3)
    assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert call(port, "/test.Echo/Slow", "0.01") == "late"


def test_a_message_over_the_limit_is_resource_exhausted(port: int) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        call(port, "/test.Echo/Echo", "x" * (MAX_MESSAGE + 1))
    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in str(caught.value.details())
    assert call(port, "/test.Echo/Echo", "x" * (MAX_MESSAGE - 10)) == "x" * (MAX_MESSAGE - 10)


def test_a_lone_call_is_alone_for_the_batcher(port: int) -> None:
    """A call is one asyncio task, as a REST request: alone, it need not wait for company."""
    assert call(port, "/test.Echo/Alone", "") == "True"


# --- hand-built frames ---------------------------------------------------------------------


def test_a_hand_built_call_gets_headers_data_and_ok_trailers(raw: RawH2) -> None:
    raw.start()
    raw.request(1, "/test.Echo/Echo", Request(service="raw").SerializeToString())
    frames = raw.read(until=FrameType.HEADERS, stream_id=1)
    frames += raw.read(until=FrameType.HEADERS, stream_id=1)
    head, trailers = raw.headers_of(frames, 1)
    assert head[":status"] == "200"
    assert head["content-type"] == "application/grpc"
    assert trailers["grpc-status"] == "0"
    assert Request.FromString(data_of(frames, 1)[5:]).service == "raw"


def test_ping_is_answered_with_its_payload(raw: RawH2) -> None:
    raw.start()
    raw.send(frame(FrameType.PING, 0, 0, b"12345678"))
    pings = [f for f in raw.read(until=FrameType.PING) if f.kind == FrameType.PING]
    assert pings[-1].flags == 1
    assert pings[-1].payload == b"12345678"


def test_a_garbage_preface_gets_goaway_protocol_error(raw: RawH2, port: int) -> None:
    raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    frames = raw.read(until=FrameType.GOAWAY)
    assert goaway_code(frames) == ErrorCode.PROTOCOL_ERROR
    assert raw.read(wait=3) == []
    assert raw.closed
    still_serving(port)


def test_an_oversized_frame_gets_goaway_frame_size_error(raw: RawH2, port: int) -> None:
    raw.start()
    raw.send(frame(FrameType.HEADERS, END_HEADERS, 1, raw.header_block("/test.Echo/Echo")))
    oversized = LIMITS.max_frame_bytes + 1  # refused from its 9-byte header alone
    raw.send(oversized.to_bytes(3, "big") + bytes((FrameType.DATA, 0)) + (1).to_bytes(4, "big"))
    assert goaway_code(raw.read(until=FrameType.GOAWAY)) == ErrorCode.FRAME_SIZE_ERROR
    still_serving(port)


def test_a_continuation_flood_gets_goaway_enhance_your_calm(raw: RawH2, port: int) -> None:
    raw.start()
    raw.send(frame(FrameType.HEADERS, 0, 1, raw.header_block("/test.Echo/Echo")))
    for _ in range(10):  # 10 x 1 KiB > the 8 KiB header block bound
        raw.send(frame(FrameType.CONTINUATION, 0, 1, b"\x40\x01a\x01b" * 200))
    assert goaway_code(raw.read(until=FrameType.GOAWAY)) == ErrorCode.ENHANCE_YOUR_CALM
    still_serving(port)


def test_a_flood_of_empty_continuations_gets_goaway_enhance_your_calm(
    raw: RawH2, port: int
) -> None:
    raw.start()
    raw.send(frame(FrameType.HEADERS, 0, 1, raw.header_block("/test.Echo/Echo")))
    raw.send(frame(FrameType.CONTINUATION, 0, 1) * 1000)  # no bytes: the size bound never trips
    assert goaway_code(raw.read(until=FrameType.GOAWAY)) == ErrorCode.ENHANCE_YOUR_CALM
    still_serving(port)


def test_an_undecodable_header_block_gets_goaway_compression_error(raw: RawH2, port: int) -> None:
    raw.start()
    raw.send(frame(FrameType.HEADERS, END_HEADERS | END_STREAM, 1, b"\xff\xff\xff\xff\x7f"))
    assert goaway_code(raw.read(until=FrameType.GOAWAY)) == ErrorCode.COMPRESSION_ERROR
    still_serving(port)


def test_data_beyond_the_window_gets_goaway_flow_control_error(raw: RawH2, port: int) -> None:
    raw.start()
    raw.send(frame(FrameType.HEADERS, END_HEADERS, 1, raw.header_block("/test.Echo/Hold")))
    messages = grpc_framed(Request(service="f" * 4000).SerializeToString()) * 4
    chunk = frame(FrameType.DATA, 0, 1, messages)  # 16 KB of messages Hold never takes
    raw.send(chunk * (LIMITS.receive_window // len(messages) + 2))
    assert goaway_code(raw.read(until=FrameType.GOAWAY)) == ErrorCode.FLOW_CONTROL_ERROR
    still_serving(port)


def test_a_client_that_streams_but_never_reads_is_held_back(raw: RawH2, port: int) -> None:
    """Chat answers each message; the client opens no window for answers: the server sends
    its 64 KiB, stops taking messages, and one more window's worth is a flow-control error
    (neither the answers nor the messages pile up in the server)."""
    raw.start()
    raw.send(frame(FrameType.HEADERS, END_HEADERS, 1, raw.header_block("/test.Echo/Chat")))
    message = grpc_framed(Request(service="c" * 3000).SerializeToString())
    for _ in range(LIMITS.receive_window // (5 * len(message)) + 40):
        raw.send(frame(FrameType.DATA, 0, 1, message * 5))
    frames = raw.read(until=FrameType.GOAWAY)
    assert goaway_code(frames) == ErrorCode.FLOW_CONTROL_ERROR
    assert len(data_of(frames, 1)) <= 65535
    still_serving(port)


def test_streams_beyond_the_limit_are_refused_and_the_others_answered(raw: RawH2) -> None:
    raw.start()
    for stream_id in range(1, 12, 2):  # 6 slow calls, 4 allowed at once
        raw.request(stream_id, "/test.Echo/Slow", Request(service="0.3").SerializeToString())
    frames: list[Any] = []
    while len([f for f in frames if f.kind == FrameType.HEADERS and f.flags & END_STREAM]) < 4:
        got = raw.read(until=FrameType.HEADERS)
        assert got, "the server stopped answering"
        frames += got
    assert reset_codes(frames) == {9: ErrorCode.REFUSED_STREAM, 11: ErrorCode.REFUSED_STREAM}
    assert all(raw.headers_of(frames, s)[-1]["grpc-status"] == "0" for s in (1, 3, 5, 7))


def test_a_half_sent_request_is_reset_after_the_read_timeout(raw: RawH2) -> None:
    raw.start()
    raw.send(frame(FrameType.HEADERS, END_HEADERS, 1, raw.header_block("/test.Echo/Echo")))
    raw.send(frame(FrameType.DATA, 0, 1, grpc_framed(b"\x0a\x05hello")[:4]))
    frames = raw.read(until=FrameType.RST_STREAM, wait=4)
    assert reset_codes(frames) == {1: ErrorCode.CANCEL}
    raw.request(3, "/test.Echo/Echo", Request(service="next").SerializeToString())
    assert b"next" in data_of(raw.read(until=FrameType.HEADERS, stream_id=3) +
                              raw.read(until=FrameType.HEADERS, stream_id=3), 3)  # fmt: skip


def test_a_stream_error_resets_that_stream_and_the_connection_goes_on(raw: RawH2) -> None:
    raw.start()
    raw.send(frame(FrameType.HEADERS, END_HEADERS, 1, raw.header_block("/test.Echo/Chat")))
    raw.send(window_update(1, 0))  # an increment of 0 on a stream: a stream error
    assert reset_codes(raw.read(until=FrameType.RST_STREAM)) == {1: ErrorCode.PROTOCOL_ERROR}
    raw.request(3, "/test.Echo/Echo", Request(service="on").SerializeToString())
    frames = raw.read(until=FrameType.HEADERS, stream_id=3)
    frames += raw.read(until=FrameType.HEADERS, stream_id=3)
    assert raw.headers_of(frames, 3)[-1]["grpc-status"] == "0"


def test_answers_wait_for_the_clients_flow_control_window(raw: RawH2) -> None:
    raw.start({Setting.INITIAL_WINDOW_SIZE: 10})
    text = "w" * 100
    raw.request(1, "/test.Echo/Echo", Request(service=text).SerializeToString())
    frames = raw.read(until=FrameType.DATA, stream_id=1)
    assert len(data_of(frames, 1)) == 10
    assert raw.read(wait=0.3) == []  # nothing more until the window opens
    raw.send(window_update(1, 1000))
    frames += raw.read(until=FrameType.HEADERS, stream_id=1)  # the trailers
    assert Request.FromString(data_of(frames, 1)[5:]).service == text
    assert raw.headers_of(frames, 1)[-1]["grpc-status"] == "0"


@pytest.mark.parametrize(
    ("headers", "compressed", "code"),
    [
        ({}, 1, StatusCode.INTERNAL),  # compressed flag without grpc-encoding
        ({"grpc_encoding": "gzip"}, 0, StatusCode.UNIMPLEMENTED),
        ({}, 0, StatusCode.OK),
    ],
    ids=["compressed flag", "gzip encoding", "plain"],
)
def test_compressed_messages_are_refused(
    raw: RawH2, headers: dict[str, str], compressed: int, code: StatusCode
) -> None:
    raw.start()
    block = raw.header_block(
        "/test.Echo/Echo", [(k.replace("_", "-"), v) for k, v in headers.items()]
    )
    message = grpc_framed(Request(service="z").SerializeToString(), compressed)
    raw.send(
        frame(FrameType.HEADERS, END_HEADERS, 1, block)
        + frame(FrameType.DATA, END_STREAM, 1, message)
    )
    frames = raw.read(until=FrameType.HEADERS, stream_id=1)
    if code == StatusCode.OK:
        frames += raw.read(until=FrameType.HEADERS, stream_id=1)
    assert raw.headers_of(frames, 1)[-1]["grpc-status"] == str(int(code))


def test_a_request_that_is_not_grpc_gets_415(raw: RawH2) -> None:
    raw.start()
    pseudo = [(":method", "POST"), (":scheme", "http"), (":path", "/test.Echo/Echo")]
    block = raw.encoder.encode([*pseudo, (":authority", "x"), ("content-type", "text/plain")])
    raw.send(frame(FrameType.HEADERS, END_HEADERS | END_STREAM, 1, block))
    answer = raw.headers_of(raw.read(until=FrameType.HEADERS, stream_id=1), 1)[-1]
    assert answer[":status"] == "415"
    assert "not gRPC" in answer["grpc-message"]


def test_shutdown_sends_goaway_and_lets_the_call_under_way_finish() -> None:
    with running_server() as running:
        raw = RawH2(running.port)
        raw.start()
        raw.request(1, "/test.Echo/Slow", Request(service="0.3").SerializeToString())
        raw.send(frame(FrameType.PING, 0, 0, b"in order"))
        raw.read(until=FrameType.PING)  # frames are read in order: the call is under way
        running.loop.call_soon_threadsafe(lambda: [c.shutdown() for c in running.connections])
        frames = raw.read(until=FrameType.GOAWAY)
        assert goaway_code(frames) == ErrorCode.NO_ERROR
        frames = raw.read(until=FrameType.HEADERS, stream_id=1)
        frames += raw.read(until=FrameType.HEADERS, stream_id=1)
        assert raw.headers_of(frames, 1)[-1]["grpc-status"] == "0"
        assert raw.read(wait=2) == []
        assert raw.closed
        raw.close()


def test_requests_reset_half_sent_give_their_window_back(raw: RawH2) -> None:
    """30 x 60 KB held then reset, on a 1 MiB window: no overrun, the next call is answered."""
    raw.start()
    partial = grpc_framed(b"\x0a" + b"\x80" * 60_000)[:-10]
    for stream_id in range(1, 61, 2):
        raw.send(
            frame(FrameType.HEADERS, END_HEADERS, stream_id, raw.header_block("/test.Echo/Echo"))
        )
        for start in range(0, len(partial), 16384):
            raw.send(frame(FrameType.DATA, 0, stream_id, partial[start : start + 16384]))
        raw.send(rst_stream(stream_id, ErrorCode.CANCEL))
    raw.request(61, "/test.Echo/Echo", Request(service="after").SerializeToString())
    frames = raw.read(until=FrameType.HEADERS, stream_id=61)
    frames += raw.read(until=FrameType.HEADERS, stream_id=61)
    assert goaway_code(frames) is None
    assert raw.headers_of(frames, 61)[-1]["grpc-status"] == "0"


def test_a_remembered_header_block_follows_the_dynamic_table() -> None:
    """Index 62 is the newest dynamic entry: the same block means another header once a
    block inserts one, and the decoder must not answer from memory then."""
    decoder, encoder = HeaderDecoder(8192), hpack.Encoder()
    decoder.decode(encoder.encode([("x-first", "1")]))  # inserted: now entry 62
    assert decoder.decode(b"\xbe") == [(b"x-first", b"1")]
    assert decoder.decode(b"\xbe") == [(b"x-first", b"1")]  # remembered
    decoder.decode(encoder.encode([("x-second", "2")]))  # inserted: x-first moves to 63
    assert decoder.decode(b"\xbe") == [(b"x-second", b"2")]
    assert decoder.decode(b"\xbf") == [(b"x-first", b"1")]
    with pytest.raises(hpack.HPACKError):
        decoder.decode(b"\xff\xff\xff\xff\x7f")  # an index far beyond both tables


@pytest.mark.parametrize("method", ["/test.Echo/Echo", "/test.Echo/Chat"])
def test_messages_split_across_tiny_frames_arrive_whole(raw: RawH2, method: str) -> None:
    """A prefix split over 1-byte frames, then the rest; Chat also gets two in one frame."""
    raw.start()
    first = grpc_framed(Request(service="split " * 2000).SerializeToString())
    raw.send(frame(FrameType.HEADERS, END_HEADERS, 1, raw.header_block(method)))
    pieces = [first[i : i + 1] for i in range(8)] + [first[8:]]
    if method.endswith("Chat"):
        pieces.append(grpc_framed(Request(service="a").SerializeToString()) * 2)
    raw.send(b"".join(frame(FrameType.DATA, 0, 1, piece) for piece in pieces))
    raw.send(frame(FrameType.DATA, END_STREAM, 1, b""))
    frames = raw.read(until=FrameType.HEADERS, stream_id=1)
    frames += raw.read(until=FrameType.HEADERS, stream_id=1)
    assert raw.headers_of(frames, 1)[-1]["grpc-status"] == "0"
    answers, data = [], data_of(frames, 1)
    while data:
        length = int.from_bytes(data[1:5], "big")
        answers.append(Request.FromString(data[5 : 5 + length]).service)
        data = data[5 + length :]
    expected = "split " * 2000
    assert answers == ([expected.upper(), "A", "A"] if method.endswith("Chat") else [expected])


class CollectingTransport:
    """What `Http2Connection` writes, kept in memory (an in-process test needs no socket)."""

    def __init__(self) -> None:
        self.written = bytearray()

    def write(self, data: bytes) -> None:
        self.written += data

    def get_write_buffer_size(self) -> int:
        return 0

    def can_write_eof(self) -> bool:
        return False

    def close(self) -> None:
        pass


def client_bytes(encoder: hpack.Encoder) -> bytes:
    """Two calls: one whose 40 KB message comes in unpadded 16 KiB DATA frames, one padded;
    then a slow third call, and DATA on it after its end (the stream is reset, the payload
    skipped: it holds bytes that look like frames)."""
    headers = [(":method", "POST"), (":scheme", "http"), (":path", "/test.Echo/Echo"),
               (":authority", "x"), ("content-type", "application/grpc")]  # fmt: skip
    block = encoder.encode(headers)
    big = grpc_framed(Request(service="b" * 40_000).SerializeToString())
    out = PREFACE + settings_frame({}) + frame(FrameType.HEADERS, END_HEADERS, 1, block)
    for start in range(0, len(big), 16384):
        out += frame(FrameType.DATA, 0, 1, big[start : start + 16384])
    out += frame(FrameType.DATA, END_STREAM, 1, b"")
    padded = b"\x03" + grpc_framed(Request(service="padded").SerializeToString()) + b"\0\0\0"
    out += frame(FrameType.HEADERS, END_HEADERS, 3, encoder.encode(headers))
    out += frame(FrameType.DATA, END_STREAM | PADDED, 3, padded)
    slow = [(k, "/test.Echo/Slow" if k == ":path" else v) for k, v in headers]
    out += frame(FrameType.HEADERS, END_HEADERS, 5, encoder.encode(slow))
    out += frame(
        FrameType.DATA, END_STREAM, 5, grpc_framed(Request(service="1").SerializeToString())
    )
    return out + frame(FrameType.DATA, 0, 5, frame(FrameType.PING, 0, 0, b"12345678") * 50)


@pytest.mark.parametrize("piece", [1, 7, 9, 1000, 16393, 1 << 20])
def test_frames_read_in_pieces_of_any_size(piece: int) -> None:
    """However the bytes are cut into reads, the calls get their messages whole and the data
    on a closed stream is skipped, not read as frames."""
    data = client_bytes(hpack.Encoder())
    transport = CollectingTransport()

    async def feed() -> None:
        tasks = TaskCount()
        tasks.start()
        connection = Http2Connection(GrpcRouter(methods(tasks), MAX_MESSAGE), LIMITS, set())
        connection.connection_made(transport)
        for start in range(0, len(data), piece):
            connection.data_received(data[start : start + piece])
        await asyncio.sleep(0.05)  # the calls run as tasks
        connection.connection_lost(None)

    asyncio.run(feed())
    frames = frames_of(bytes(transport.written))
    assert goaway_code(frames) is None
    assert not [f for f in frames if f.kind == FrameType.PING]
    assert reset_codes(frames) == {5: ErrorCode.STREAM_CLOSED}
    answers = {sid: Request.FromString(data_of(frames, sid)[5:]).service for sid in (1, 3)}
    assert answers == {1: "b" * 40_000, 3: "padded"}
