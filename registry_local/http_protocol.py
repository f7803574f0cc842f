"""uvicorn's httptools protocol, answering requests its parser refuses in the one error shape.

uvicorn answers those with a plain-text `Invalid HTTP request received.`; this subclass says
why in `{"code", "message"}`. The usual cause is a URL over 65535 bytes (httptools keeps URL
offsets in 16 bits), e.g. a huge `filterQuery`.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from registry_local.app import error_body
from registry_local.errors import BadRequest

MAX_URL_BYTES = 65535


class RegistryHttpProtocol(HttpToolsProtocol):
    """HttpToolsProtocol whose 400 for an unparsable request is a JSON registry error."""

    def send_400_response(self, msg: str) -> None:
        body = error_body(BadRequest(refusal_reason(getattr(self, "url", b""))))
        head = [STATUS_LINE[400]]
        defaults = self.server_state.default_headers
        head += [name + b": " + value + b"\r\n" for name, value in defaults]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join([*head, body]))
        self.transport.close()


def refusal_reason(url: bytes) -> str:
    if len(url) > MAX_URL_BYTES:
        return f"the URL is longer than {MAX_URL_BYTES} bytes (shorten filterQuery)"
    return "malformed HTTP request"
