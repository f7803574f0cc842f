"""Errors the registry answers with: each class carries its HTTP status and error code.

One handler (`app.handle_exception`) renders every one of them as `{"code": ..., "message":
...}` with the headers the class adds (`Allow`, `WWW-Authenticate`). As upstream's server
does, `code` is the status text Go's `http.StatusText` gives (`"Bad Request"`, `"Not Found"`,
...), and a missing required field is 422 with the code `"Bad Request"` (upstream builds that
body with 400's text; see docs/conformance.md).
"""

from __future__ import annotations

from http import HTTPStatus

SHOWN_LENGTH = 60


def shown(value: object) -> str:
    """A client's value quoted for an error message, cut to SHOWN_LENGTH characters."""
    return cut(repr(value))


def cut(text: str) -> str:
    """`text`, or its first SHOWN_LENGTH - 3 characters and `...` when it is longer."""
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


def status_text(status: int) -> str:
    """The text Go's `http.StatusText` gives a status (413 keeps its RFC 7231 name there)."""
    if status == 413:
        return "Request Entity Too Large"
    return HTTPStatus(status).phrase


class RegistryError(Exception):
    """Base of every error that becomes an HTTP error response.

    A subclass sets `status`; its `code` is that status' text unless it sets one itself."""

    status = 500
    code = "Internal Server Error"

    def __init_subclass__(cls) -> None:
        super().__init_subclass__()
        if "code" not in cls.__dict__:
            cls.code = status_text(cls.status)

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Headers the answer carries besides its content type."""
        return []


class BadRequest(RegistryError):
    """Malformed JSON, unknown field, wrong type, bad enum value, bad id or query parameter."""

    status = 400


class Unauthorized(RegistryError):
    """A bearer token is configured and the request did not present it."""

    status = 401

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [(b"www-authenticate", b'Bearer realm="model-registry"')]


class NotFound(RegistryError):
    """No entity with that id (of that type), or a find matched zero or several entities."""

    status = 404


class MethodNotAllowed(RegistryError):
    """The path exists but not with this HTTP method; `allowed` goes in the `Allow` header."""

    status = 405

    def __init__(self, message: str, allowed: tuple[str, ...]) -> None:
        super().__init__(message)
        self.allowed = allowed

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The methods the path has, in `Allow` (RFC 9110)."""
        return [(b"allow", ", ".join(self.allowed).encode())]


class ClientGone(RegistryError):
    """The client closed the connection before sending the whole body: nothing is stored."""

    status = 400


class Conflict(RegistryError):
    """A name or externalId is already taken within its scope."""

    status = 409


class PayloadTooLarge(RegistryError):
    """The request body is larger than the configured limit."""

    status = 413


class MissingField(RegistryError):
    """A required field is absent, null or empty in a create request (upstream: 422, code 400's)."""

    status = 422
    code = "Bad Request"
