"""A minimal HTTP/2 server connection (cleartext, prior knowledge) as an asyncio Protocol.

What gRPC clients need and no more (RFC 9113): the connection preface, SETTINGS and their
ACK, HEADERS + CONTINUATION (HPACK-decoded by the `hpack` package), DATA, flow control both
ways, PING, RST_STREAM and GOAWAY. Each request stream is handed to a `StreamCall` that the
`Router` opens from the request headers; the call answers through `Http2Connection.send`
(the sending half, streams and flow control out, is `http2_streams.StreamSender`).

DATA payloads (unpadded, as clients send them) reach their call piece by piece as they
arrive, as views into the bytes read from the socket: a 0.8 MB request in 16 KiB frames is
not copied into a buffer and again out of it frame by frame.

Bounds, so a hostile client costs bounded memory and never stalls the loop: frames up to
1 MiB (announced), header blocks up to `max_header_block_bytes` (a bigger one ends the
connection: HPACK state cannot skip it), at most `max_streams` open streams (more are
refused), request bytes not yet taken by their call up to the receive window (the client
must wait for WINDOW_UPDATE), `read_timeout` seconds to send the preface and each request,
and a client that does not read its PING/SETTINGS answers is dropped. A protocol error
answers GOAWAY with its code, then closes; a stream error resets only that stream.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass
from typing import Any, Protocol

import hpack

from serving.http2_frames import (
    ACK,
    DEFAULT_HEADER_TABLE,
    DEFAULT_WINDOW,
    END_HEADERS,
    END_STREAM,
    FRAME_HEADER_BYTES,
    MAX_WINDOW,
    PADDED,
    PREFACE,
    ConnectionFailure,
    ErrorCode,
    FrameType,
    Setting,
    StreamFailure,
    frame,
    goaway,
    header_fragment,
    padding_stripped,
    peer_settings,
    settings_frame,
    window_update,
)
from serving.http2_hpack import HeaderDecoder, Headers
from serving.http2_streams import Stream, StreamCall, StreamSender

LINGER_SECONDS = 1.0
MAX_CONTINUATIONS = 64  # frames of one header block (clients send one or two)
# A frame header: 24-bit length (as 8 + 16 bits), type, flags, R bit + 31-bit stream id.
FRAME_HEADER = struct.Struct(">BHBBL")
DATA = FrameType.DATA.value


@dataclass(frozen=True)
class Http2Limits:
    receive_window: int = 16 << 20
    max_streams: int = 128
    max_header_block_bytes: int = 65536
    max_frame_bytes: int = 1 << 20  # fewer, bigger DATA frames for big messages
    read_timeout: float = 30.0


class Router(Protocol):
    def open_call(
        self, connection: Http2Connection, stream_id: int, headers: Headers
    ) -> StreamCall: ...


class Http2Connection(StreamSender, asyncio.Protocol):
    """One client connection: frames in, calls opened by the router, frames out."""

    def __init__(
        self, router: Router, limits: Http2Limits, connections: set[Http2Connection]
    ) -> None:
        super().__init__(limits.receive_window)
        self.router = router
        self.limits = limits
        self.connections = connections
        self.decoder = HeaderDecoder(limits.max_header_block_bytes)
        self.inbox = bytearray()
        self.data_stream = self.data_flags = self.data_left = 0  # a DATA frame arriving
        self.last_stream_id = 0
        self.header_stream = 0  # the stream whose header block is being continued, or 0
        self.header_parts: list[bytes] = []
        self.header_flags = self.header_bytes = 0
        self.preface_seen = False
        self.sweeper: asyncio.TimerHandle | None = None
        self.opened = time.monotonic()
        self.frame_handlers = (
            self.on_data, self.on_headers, self.on_priority, self.on_rst_stream,
            self.on_settings, self.on_push_promise, self.on_ping, self.on_goaway,
            self.on_window_update, self.on_continuation,
        )  # fmt: skip

    # --- connection life -------------------------------------------------------------

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.connections.add(self)
        window = self.limits.receive_window
        ours = {Setting.MAX_CONCURRENT_STREAMS: self.limits.max_streams,
                Setting.INITIAL_WINDOW_SIZE: window,
                Setting.MAX_HEADER_LIST_SIZE: self.limits.max_header_block_bytes,
                Setting.MAX_FRAME_SIZE: self.limits.max_frame_bytes,
                Setting.ENABLE_PUSH: 0}  # fmt: skip
        transport.write(settings_frame(ours) + window_update(0, window - DEFAULT_WINDOW))
        self.schedule_sweep()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closing = True
        self.connections.discard(self)
        if self.sweeper is not None:
            self.sweeper.cancel()
        for stream in list(self.streams.values()):
            self.drop(stream)
        self.wake_writers()

    def data_received(self, data: bytes) -> None:
        if self.closing:
            return
        if self.inbox:  # the start of a frame header or of a control frame was held back
            self.inbox += data
            data = bytes(self.inbox)
            self.inbox.clear()
        view = memoryview(data)
        try:
            position = 0 if self.preface_seen else self.read_preface(view)
            position = self.read_frames(view, position)
        except ConnectionFailure as failure:
            self.fail(failure.code, failure.reason)
            return
        if position < len(view) and not self.closing:
            self.inbox += view[position:]

    def read_preface(self, view: memoryview) -> int:
        """Where the frames start, or the end of `view` if the preface is not all in yet."""
        seen = bytes(view[: len(PREFACE)])
        if not PREFACE.startswith(seen):
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "not an HTTP/2 connection preface")
        if len(seen) < len(PREFACE):
            return 0
        self.preface_seen = True
        return len(PREFACE)

    def read_frames(self, view: memoryview, position: int) -> int:
        """Handle every frame in `view` from `position`; where the unread rest starts.

        DATA payloads (unpadded) go to their call piece by piece as they arrive, as views
        into the received bytes; other frames are handled once whole."""
        size = len(view)
        max_frame = self.limits.max_frame_bytes
        while position < size and not self.closing and self.preface_seen:
            if self.data_left:
                position = self.read_data(view, position)
                continue
            if size - position < FRAME_HEADER_BYTES:
                break
            length_high, length_low, kind, flags, stream_id = FRAME_HEADER.unpack_from(
                view, position
            )
            length = length_high << 16 | length_low
            if length > max_frame:
                raise ConnectionFailure(ErrorCode.FRAME_SIZE_ERROR, f"frame of {length} bytes")
            stream_id &= 0x7FFFFFFF
            position += FRAME_HEADER_BYTES
            if kind == DATA and not flags & PADDED and not self.header_stream:
                if self.took_whole_data(view, position, flags, stream_id, length):
                    position += length
                else:
                    self.data_begins(flags, stream_id, length)
                continue
            if size - position < length:
                return position - FRAME_HEADER_BYTES
            self.on_frame(kind, flags, stream_id, bytes(view[position : position + length]))
            position += length
        return position

    def on_frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self.header_stream and kind != FrameType.CONTINUATION:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "a header block was interrupted")
        if kind >= len(self.frame_handlers):
            return  # unknown frame types are ignored (§5.5)
        try:
            self.frame_handlers[kind](flags, stream_id, payload)
        except StreamFailure as failure:
            self.reset(stream_id, failure.code)

    def fail(self, code: ErrorCode, reason: str) -> None:
        """A connection error: GOAWAY, cancel every call, drop further input, then close."""
        if self.closing:
            return
        self.closing = True
        self.transport.write(goaway(self.last_stream_id, code, reason))
        for stream in list(self.streams.values()):
            self.drop(stream)
        if self.transport.can_write_eof():
            self.transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)

    def shutdown(self) -> None:
        """Graceful stop: GOAWAY(NO_ERROR); calls under way finish, then the connection closes."""
        if self.closing or self.going_away:
            return
        self.going_away = True
        self.transport.write(goaway(self.last_stream_id, ErrorCode.NO_ERROR))
        self.close_if_idle()

    def schedule_sweep(self) -> None:
        if self.limits.read_timeout > 0:
            loop = asyncio.get_running_loop()
            self.sweeper = loop.call_later(self.limits.read_timeout / 2, self.sweep)

    def sweep(self) -> None:
        """Close a connection without its preface, reset requests not sent in time."""
        oldest = time.monotonic() - self.limits.read_timeout
        if not self.preface_seen and self.opened <= oldest:
            self.fail(ErrorCode.PROTOCOL_ERROR, "no connection preface in time")
            return
        for stream in [s for s in self.streams.values() if s.receiving and s.opened <= oldest]:
            self.reset(stream.id, ErrorCode.CANCEL)
        self.schedule_sweep()

    # --- frames ------------------------------------------------------------------------

    def on_headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id == 0:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0")
        fragment = header_fragment(flags, payload)
        self.header_parts, self.header_flags, self.header_bytes = [fragment], flags, len(fragment)
        if flags & END_HEADERS:
            self.headers_complete(stream_id)
        else:
            self.header_stream = stream_id
            self.check_header_bytes(len(fragment))

    def on_continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        if not self.header_stream or stream_id != self.header_stream:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "CONTINUATION without HEADERS")
        self.header_parts.append(payload)
        self.header_bytes += len(payload)
        if len(self.header_parts) > MAX_CONTINUATIONS:  # empty ones too: they cost a frame each
            raise ConnectionFailure(ErrorCode.ENHANCE_YOUR_CALM, "too many CONTINUATION frames")
        self.check_header_bytes(self.header_bytes)
        if flags & END_HEADERS:
            self.header_stream = 0
            self.headers_complete(stream_id)

    def check_header_bytes(self, size: int) -> None:
        if size > self.limits.max_header_block_bytes:
            limit = self.limits.max_header_block_bytes
            raise ConnectionFailure(ErrorCode.ENHANCE_YOUR_CALM, f"header block over {limit} bytes")

    def headers_complete(self, stream_id: int) -> None:
        try:
            headers = self.decoder.decode(b"".join(self.header_parts))
        except hpack.OversizedHeaderListError:
            raise ConnectionFailure(ErrorCode.ENHANCE_YOUR_CALM, "header list too large") from None
        except hpack.HPACKError:
            raise ConnectionFailure(
                ErrorCode.COMPRESSION_ERROR, "undecodable header block"
            ) from None
        self.header_parts = []
        ended = bool(self.header_flags & END_STREAM)
        stream = self.streams.get(stream_id)
        if stream is not None:
            self.request_trailers(stream, ended)
        elif stream_id <= self.last_stream_id:
            raise StreamFailure(ErrorCode.STREAM_CLOSED, "HEADERS on a closed stream")
        else:
            self.open_stream(stream_id, headers, ended)

    def request_trailers(self, stream: Stream, ended: bool) -> None:
        if not stream.receiving or not ended:
            raise StreamFailure(
                ErrorCode.PROTOCOL_ERROR, "a second header block not ending the stream"
            )
        self.end_of_request(stream)

    def open_stream(self, stream_id: int, headers: Headers, ended: bool) -> None:
        if stream_id % 2 == 0:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "a client stream id must be odd")
        self.last_stream_id = stream_id
        if self.going_away or len(self.streams) >= self.limits.max_streams:
            raise StreamFailure(ErrorCode.REFUSED_STREAM, "too many streams")
        stream = self.streams[stream_id] = Stream(stream_id, self.peer_window)
        stream.call = self.router.open_call(self, stream_id, headers)
        if ended:
            self.end_of_request(stream)

    def end_of_request(self, stream: Stream) -> None:
        stream.receiving = False
        if stream.call is not None:
            stream.call.end()

    def took_whole_data(self, view: memoryview, position: int, flags: int, stream_id: int,
                        length: int) -> bool:  # fmt: skip
        """The common case in one step: a DATA frame whose payload is all in `view`, for a
        stream receiving into its call, within the window. False (nothing done) otherwise:
        `data_begins` and `read_data` then handle it, errors and pieces included."""
        stream = self.streams.get(stream_id)
        if (
            stream is None
            or not stream.receiving
            or stream.call is None
            or len(view) - position < length
            or length > self.receive_window
        ):
            return False
        self.receive_window -= length
        if length:
            stream.call.data(view[position : position + length])
        if flags & END_STREAM:
            self.end_of_request(stream)
        return True

    def on_data(self, flags: int, stream_id: int, payload: bytes) -> None:
        """A padded DATA frame, handled whole: checked and delivered as an unpadded one is
        (`data_begins`, `read_data`), its padding given back to the window at once."""
        data = padding_stripped(flags, payload)
        self.data_begins(flags, stream_id, len(data), len(payload) - len(data))
        if self.data_left:
            self.read_data(memoryview(data), 0)

    def data_begins(self, flags: int, stream_id: int, length: int, padding: int = 0) -> None:
        """A DATA frame's header: `length` bytes of data follow in `read_data` (after
        `padding` bytes of a padded frame's, which only count against the window)."""
        self.data_stream, self.data_flags, self.data_left = stream_id, flags, length
        try:
            self.check_data(stream_id, length + padding)
        except StreamFailure as failure:
            self.data_stream = 0  # the payload still arrives: it is skipped
            self.reset(stream_id, failure.code)
        if padding:
            self.consumed(stream_id, padding)
        if not length:
            self.read_data(memoryview(b""), 0)

    def check_data(self, stream_id: int, length: int) -> None:
        """Window and stream state for `length` DATA bytes on `stream_id` (§6.1, §6.9)."""
        if stream_id == 0:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0")
        self.receive_window -= length
        if self.receive_window < 0:
            raise ConnectionFailure(ErrorCode.FLOW_CONTROL_ERROR, "DATA beyond the window")
        stream = self.streams.get(stream_id)
        if stream is None or not stream.receiving:
            if stream_id > self.last_stream_id:
                raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "DATA on an idle stream")
            if stream is not None:
                raise StreamFailure(ErrorCode.STREAM_CLOSED, "DATA after the end of the stream")
            # a stream already answered and reset: its data is dropped (in `read_data`)

    def read_data(self, view: memoryview, position: int) -> int:
        """The part of the current DATA frame's payload in `view` goes to its call."""
        end = min(len(view), position + self.data_left)
        self.data_left -= end - position
        stream = self.streams.get(self.data_stream)
        if stream is None or not stream.receiving or stream.call is None:
            self.consumed(self.data_stream, end - position)  # dropped: the window given back
        else:
            if end > position:
                stream.call.data(view[position:end])
            if not self.data_left and self.data_flags & END_STREAM:
                self.end_of_request(stream)
        if not self.data_left:
            self.data_stream = 0
        return end

    def on_priority(self, flags: int, stream_id: int, payload: bytes) -> None:
        if len(payload) != 5:
            raise StreamFailure(ErrorCode.FRAME_SIZE_ERROR, "PRIORITY is 5 bytes")

    def on_rst_stream(self, flags: int, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ConnectionFailure(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM is 4 bytes")
        if stream_id == 0 or stream_id > self.last_stream_id:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on an idle stream")
        stream = self.streams.get(stream_id)
        if stream is not None:
            self.drop(stream)

    def on_settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            if payload:
                raise ConnectionFailure(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload")
            return
        values = peer_settings(payload)
        if Setting.INITIAL_WINDOW_SIZE in values:
            self.peer_window_changed(values[Setting.INITIAL_WINDOW_SIZE])
        self.peer_max_frame = values.get(Setting.MAX_FRAME_SIZE, self.peer_max_frame)
        if values.get(Setting.HEADER_TABLE_SIZE, DEFAULT_HEADER_TABLE) < DEFAULT_HEADER_TABLE:
            self.table_update_due = True
        self.answer_control(frame(FrameType.SETTINGS, ACK, 0))
        self.flush_blocked()

    def on_push_promise(self, flags: int, stream_id: int, payload: bytes) -> None:
        raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "a client cannot push")

    def on_ping(self, flags: int, stream_id: int, payload: bytes) -> None:
        if len(payload) != 8:
            raise ConnectionFailure(ErrorCode.FRAME_SIZE_ERROR, "PING is 8 bytes")
        if stream_id != 0:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "PING on a stream")
        if not flags & ACK:
            self.answer_control(frame(FrameType.PING, ACK, 0, payload))

    def on_goaway(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id != 0:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream")
        self.going_away = True
        self.close_if_idle()

    def on_window_update(self, flags: int, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise ConnectionFailure(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE is 4 bytes")
        increment = int.from_bytes(payload, "big") & 0x7FFFFFFF
        if stream_id == 0:
            self.connection_window_update(increment)
            return
        if increment == 0:
            raise StreamFailure(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
        stream = self.streams.get(stream_id)
        if stream is not None:
            stream.send_window += increment
            if stream.send_window > MAX_WINDOW:
                raise StreamFailure(ErrorCode.FLOW_CONTROL_ERROR, "stream window overflow")
            self.flush(stream)
