"""Errors the registry answers with: each class carries its HTTP status and error code.

One handler (see `app.py`) renders every one of them as `{"code": ..., "message": ...}`.
"""

from __future__ import annotations

SHOWN_LENGTH = 60


def shown(value: object) -> str:
    """A client's value quoted for an error message, cut to SHOWN_LENGTH characters."""
    text = repr(value)
    return text if len(text) <= SHOWN_LENGTH else text[: SHOWN_LENGTH - 3] + "..."


class RegistryError(Exception):
    """Base of every error that becomes an HTTP error response."""

    status = 500
    code = "internal_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(RegistryError):
    """Malformed JSON, unknown field, wrong type, bad enum value, bad id or query parameter."""

    status = 400
    code = "bad_request"


class Unauthorized(RegistryError):
    """A bearer token is configured and the request did not present it."""

    status = 401
    code = "unauthorized"


class NotFound(RegistryError):
    """No entity with that id (of that type), or a find matched zero or several entities."""

    status = 404
    code = "not_found"


class MethodNotAllowed(RegistryError):
    """The path exists but not with this HTTP method."""

    status = 405
    code = "method_not_allowed"


class Conflict(RegistryError):
    """A name or externalId is already taken within its scope."""

    status = 409
    code = "conflict"


class PayloadTooLarge(RegistryError):
    """The request body is larger than the configured limit."""

    status = 413
    code = "payload_too_large"


class MissingField(RegistryError):
    """A required field is absent from a create request."""

    status = 422
    code = "unprocessable_entity"
