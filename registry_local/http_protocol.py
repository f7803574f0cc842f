"""uvicorn's httptools protocol with bounded request heads, refused in the one error shape.

uvicorn (with httptools) buffers a request line and headers of any size, and answers what its
parser refuses with a plain-text `Invalid HTTP request received.`. This subclass refuses a URL
over 65535 bytes (httptools keeps URL offsets in 16 bits: longer ones never parse anyway) and
headers over 64 KiB as soon as they arrive, and says why in `{"code", "message"}`, the answer
the app's one exception handler gives. After the answer it half-closes and drops what the
client still sends (for up to LINGER_SECONDS), so a client still sending its oversized
request reads the 400 instead of a connection reset.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from registry_local.app import handle_exception
from registry_local.errors import BadRequest

MAX_URL_BYTES = 65535
MAX_HEADER_BYTES = 65536
LINGER_SECONDS = 2.0
MALFORMED = "malformed HTTP request"
URL_TOO_LONG = f"the URL is longer than {MAX_URL_BYTES} bytes (shorten filterQuery)"
HEADERS_TOO_LARGE = f"the request headers are larger than {MAX_HEADER_BYTES} bytes"


class RequestHeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops and uvicorn answers 400."""


class RegistryHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol with size limits on the request head and JSON 400 answers."""

    refusal = MALFORMED
    header_bytes = 0
    lingering = False

    def data_received(self, data: bytes) -> None:
        if not self.lingering:  # once refused, the rest of the request is dropped unread
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.refusal, self.header_bytes = MALFORMED, 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self.refuse(URL_TOO_LONG)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES:
            self.refuse(HEADERS_TOO_LARGE)
        super().on_header(name, value)

    def refuse(self, reason: str) -> None:
        self.refusal = reason
        raise RequestHeadTooLarge(reason)

    def send_400_response(self, msg: str) -> None:
        status, body, headers = handle_exception(BadRequest(self.refusal))
        length = (b"content-length", str(len(body)).encode())
        fields = [*self.server_state.default_headers, *headers, length, (b"connection", b"close")]
        head = [STATUS_LINE[status], *[name + b": " + value + b"\r\n" for name, value in fields]]
        self.transport.write(b"".join([*head, b"\r\n", body]))
        self.lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_SECONDS, self.transport.close)
