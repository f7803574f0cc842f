"""The sending half of an HTTP/2 server connection: streams, flow control, frames out.

`Http2Connection` (serving/http2.py) reads; this half holds each stream's state and what
calls send: header blocks, DATA within the client's windows (the rest when it opens them),
trailers; and gives the client back the window of the request bytes calls have taken.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Protocol

from serving.http2_frames import (
    DEFAULT_MAX_FRAME,
    DEFAULT_WINDOW,
    END_HEADERS,
    END_STREAM,
    MAX_WINDOW,
    TABLE_SIZE_ZERO,
    ConnectionFailure,
    ErrorCode,
    FrameType,
    frame,
    rst_stream,
    window_update,
)

MAX_CONTROL_BACKLOG = 1 << 20  # unread PING/SETTINGS answers before the client is dropped


class StreamCall(Protocol):
    """One request stream's handler: request body chunks in, answer out via `send`."""

    def data(self, chunk: bytes | memoryview) -> None: ...

    def end(self) -> None: ...

    def cancel(self) -> None: ...


class Stream:
    """A stream's state on the connection: flow-control windows and what waits to be sent."""

    __slots__ = (
        "call",
        "id",
        "opened",
        "outbox",
        "receiving",
        "send_window",
        "trailers",
        "unreturned",
    )

    def __init__(self, stream_id: int, send_window: int) -> None:
        self.id = stream_id
        self.call: StreamCall | None = None
        self.receiving = True
        self.send_window = send_window
        self.outbox: list[memoryview] = []
        self.trailers: bytes | None = None
        self.unreturned = 0
        self.opened = time.monotonic()


class StreamSender:
    """Streams and the frames written for them (the base of `Http2Connection`)."""

    def __init__(self, receive_window: int) -> None:
        self.streams: dict[int, Stream] = {}
        self.blocked: dict[int, Stream] = {}
        self.closing = False
        self.going_away = False
        self.peer_window = DEFAULT_WINDOW  # peer's initial stream window (its SETTINGS)
        self.peer_max_frame = DEFAULT_MAX_FRAME
        self.send_window = DEFAULT_WINDOW
        self.window_size = receive_window
        self.receive_window = receive_window
        self.unreturned = 0
        self.table_update_due = False
        self.transport: Any = None
        self.write_paused = False
        self.writable: asyncio.Future[None] | None = None  # for streaming calls to wait on

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self.wake_writers()

    def wake_writers(self) -> None:
        if self.writable is not None and not self.writable.done():
            self.writable.set_result(None)
        self.writable = None

    async def drained(self, stream_id: int) -> None:
        """Wait while the client reads slower than a streaming call answers: the socket's
        buffer is full, or the stream's window closed with a message waiting."""
        while not self.closing and (self.write_paused or stream_id in self.blocked):
            if self.writable is None:
                self.writable = asyncio.get_running_loop().create_future()
            await self.writable

    def close_if_idle(self) -> None:
        """After GOAWAY, close once the last stream is done (its last frames written first)."""
        if self.going_away and not self.streams and not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self.transport.close)

    def peer_window_changed(self, window: int) -> None:
        delta, self.peer_window = window - self.peer_window, window
        for stream in self.streams.values():
            stream.send_window += delta
            if stream.send_window > MAX_WINDOW:
                raise ConnectionFailure(ErrorCode.FLOW_CONTROL_ERROR, "stream window overflow")

    def answer_control(self, answer: bytes) -> None:
        if self.transport.get_write_buffer_size() > MAX_CONTROL_BACKLOG:
            raise ConnectionFailure(ErrorCode.ENHANCE_YOUR_CALM, "the client does not read")
        self.transport.write(answer)

    def connection_window_update(self, increment: int) -> None:
        if increment == 0:
            raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
        self.send_window += increment
        if self.send_window > MAX_WINDOW:
            raise ConnectionFailure(ErrorCode.FLOW_CONTROL_ERROR, "connection window overflow")
        self.flush_blocked()

    # --- what calls use ----------------------------------------------------------------

    def consumed(self, stream_id: int, size: int) -> None:
        """`size` request bytes were taken by their call: the client may send as many more."""
        threshold = self.window_size // 4
        self.unreturned += size
        if self.unreturned >= threshold:
            self.receive_window += self.unreturned
            self.transport.write(window_update(0, self.unreturned))
            self.unreturned = 0
        stream = self.streams.get(stream_id)
        if stream is not None and stream.receiving:
            stream.unreturned += size
            if stream.unreturned >= threshold:
                self.transport.write(window_update(stream_id, stream.unreturned))
                stream.unreturned = 0

    def send(self, stream_id: int, head: bytes | None = None, body: bytes | None = None,
             trailers: bytes | None = None) -> None:  # fmt: skip
        """Send a header block, then `body` as DATA (within the windows; the rest when the
        client opens them), then `trailers` ending the stream. Calls may send in parts."""
        stream = self.streams.get(stream_id)
        if stream is None or self.closing:
            return  # reset by the client, or the connection is gone
        out: list[bytes] = []
        if head is not None:
            out.append(frame(FrameType.HEADERS, END_HEADERS, stream_id, self.header_block(head)))
        if body:
            stream.outbox.append(memoryview(body))
        if trailers is not None:
            stream.trailers = trailers
        self.write_stream(stream, out)
        self.transport.write(b"".join(out))

    def header_block(self, block: bytes) -> bytes:
        if self.table_update_due:
            self.table_update_due = False
            return TABLE_SIZE_ZERO + block
        return block

    def write_stream(self, stream: Stream, out: list[bytes]) -> None:
        """Frame what `stream` has to send, as far as the windows allow."""
        while stream.outbox:
            size = min(
                len(stream.outbox[0]), self.send_window, stream.send_window, self.peer_max_frame
            )
            if size <= 0:
                self.blocked[stream.id] = stream
                return
            chunk = stream.outbox[0]
            out.append(frame(FrameType.DATA, 0, stream.id, bytes(chunk[:size])))
            self.send_window -= size
            stream.send_window -= size
            if size == len(chunk):
                stream.outbox.pop(0)
            else:
                stream.outbox[0] = chunk[size:]
        self.blocked.pop(stream.id, None)
        if stream.trailers is not None:
            out.append(frame(FrameType.HEADERS, END_HEADERS | END_STREAM, stream.id,
                             self.header_block(stream.trailers)))  # fmt: skip
            self.finished(stream, out)

    def finished(self, stream: Stream, out: list[bytes]) -> None:
        """Our side is closed: a client still sending is told to stop (RST_STREAM NO_ERROR)."""
        del self.streams[stream.id]
        if stream.receiving:
            out.append(rst_stream(stream.id, ErrorCode.NO_ERROR))
        self.close_if_idle()

    def flush(self, stream: Stream) -> None:
        out: list[bytes] = []
        self.write_stream(stream, out)
        if out:
            self.transport.write(b"".join(out))
            self.wake_writers()

    def flush_blocked(self) -> None:
        for stream in list(self.blocked.values()):
            if self.send_window <= 0:
                return
            self.flush(stream)

    def reset(self, stream_id: int, code: ErrorCode) -> None:
        """A stream error: RST_STREAM, and the call (if any) is cancelled."""
        stream = self.streams.get(stream_id)
        if stream is not None:
            self.drop(stream)
        self.transport.write(rst_stream(stream_id, code))

    def drop(self, stream: Stream) -> None:
        self.streams.pop(stream.id, None)
        self.blocked.pop(stream.id, None)
        if stream.call is not None:
            stream.call.cancel()
        self.close_if_idle()
