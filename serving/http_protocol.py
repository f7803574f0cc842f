"""uvicorn's httptools protocol with a bounded request head and a deadline to send a request.

uvicorn (with httptools) buffers a request line and headers of any size and waits for a
half-sent request for ever. This subclass answers, in the server's `{"error"}` shape:

- 414 to a URL over MAX_URL_BYTES and 431 to headers over MAX_HEADER_BYTES, as soon as they
  arrive (a single header still unfinished counts too: every byte of an unfinished head does);
- 408 to a request whose head is not complete `read_timeout` seconds after the connection
  opened (first request) or after its first byte (later ones); a request whose body is still
  incomplete then is dropped (the app sees the client go away). Time the server itself holds
  the connection unread (a pipelined request waiting its turn) does not count.

After a refusal it half-closes and drops what the client still sends (for up to
LINGER_SECONDS), so a client still sending its request reads the answer, not a reset.
Idle keep-alive between requests stays uvicorn's (`timeout_keep_alive`).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MAX_URL_BYTES = 65535  # httptools keeps URL offsets in 16 bits: longer ones never parse
MAX_HEADER_BYTES = 65536
HEAD_FRAMING_BYTES = 8192  # request line and header framing (": ", CRLFs) beside the counts
LINGER_SECONDS = 2.0
DEFAULT_READ_TIMEOUT = 30.0
MALFORMED = (400, "malformed HTTP request")
URL_TOO_LONG = (414, f"the URL is longer than {MAX_URL_BYTES} bytes")
HEADERS_TOO_LARGE = (431, f"the request headers are larger than {MAX_HEADER_BYTES} bytes")


class RequestHeadRefused(Exception):
    """Raised from a parser callback: httptools stops and uvicorn calls send_400_response."""


class ServingHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with size limits on the request head and a read deadline."""

    read_timeout = DEFAULT_READ_TIMEOUT
    refusal = MALFORMED
    header_bytes = 0
    head_bytes = 0
    reading_head = False
    reading_request = False
    completed_in_chunk = False
    lingering = False
    read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self.arm_read_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm_read_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.lingering:  # once refused, the rest of the request is dropped unread
            return
        head_was_under_way = self.reading_head
        self.completed_in_chunk = False
        super().data_received(data)
        # A head that began in this chunk is counted whole unless an earlier request ended
        # in the same chunk (its bytes would count too); then it is counted from the next.
        counted = head_was_under_way or not self.completed_in_chunk
        if self.reading_head and counted and not self.lingering:
            self.head_bytes += len(data)
            if self.head_bytes > len(self.url) + MAX_HEADER_BYTES + HEAD_FRAMING_BYTES:
                self.send_refusal(HEADERS_TOO_LARGE)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.refusal, self.header_bytes, self.head_bytes = MALFORMED, 0, 0
        self.reading_head = self.reading_request = True
        self.arm_read_deadline()

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self.refuse(URL_TOO_LONG)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES:
            self.refuse(HEADERS_TOO_LARGE)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.reading_head = False
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.reading_request = self.reading_head = False
        self.completed_in_chunk = True
        self.disarm_read_deadline()
        super().on_message_complete()

    def refuse(self, refusal: tuple[int, str]) -> None:
        self.refusal = refusal
        raise RequestHeadRefused(refusal[1])

    def send_400_response(self, msg: str) -> None:
        self.send_refusal(self.refusal)

    def send_refusal(self, refusal: tuple[int, str]) -> None:
        """Answer `refusal` in the `{"error"}` shape, half-close, drop the rest, then close."""
        self.disarm_read_deadline()
        status, message = refusal
        self.transport.write(refusal_bytes(status, message, self.server_state.default_headers))
        self.lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def arm_read_deadline(self) -> None:
        if self.read_deadline is None and self.read_timeout > 0:
            self.read_deadline = self.loop.call_later(self.read_timeout, self.read_overrun)

    def disarm_read_deadline(self) -> None:
        if self.read_deadline is not None:
            self.read_deadline.cancel()
            self.read_deadline = None

    def read_overrun(self) -> None:
        """The deadline passed: 408 for an unfinished head, a dropped connection for an
        unfinished body; nothing when the server itself paused reading (its turn comes)."""
        self.read_deadline = None
        if self.transport.is_closing() or self.lingering:
            return
        if self.flow.read_paused:
            self.arm_read_deadline()
        elif self.reading_head or not self.reading_request:
            seconds = f"{self.read_timeout:g}"
            self.send_refusal((408, f"the request was not received within {seconds} s"))
        else:
            self.transport.close()


def refusal_bytes(status: int, message: str, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    body = orjson.dumps({"error": message})
    head = [
        STATUS_LINE[status],
        *[name + b": " + value + b"\r\n" for name, value in default_headers],
    ]
    head += [
        b"content-type: application/json\r\n",
        b"content-length: " + str(len(body)).encode() + b"\r\n",
        b"connection: close\r\n\r\n",
    ]
    return b"".join([*head, body])


def protocol_with(read_timeout: float) -> type[ServingHttpProtocol]:
    """The protocol class uvicorn instantiates, with the server's read deadline."""
    return type("ServingHttpProtocol", (ServingHttpProtocol,), {"read_timeout": read_timeout})
