"""The inference server's errors: the HTTP status lives on the class.

One handler (`serving.rest`) renders every one of them as `{"error": "<message>"}`.
"""

from __future__ import annotations


class ServingError(Exception):
    """Base of every error the server reports to a client."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ServingError):
    """The request is malformed (body, JSON, parameters)."""

    status = 400


class InvalidTensor(BadRequest):
    """A tensor's name, shape, datatype, element count or values do not fit the model."""


class LoadRefused(BadRequest):
    """A model failed a load-time check (location, checksum, opset, golden file)."""


class Unauthorized(ServingError):
    """A protected endpoint was called without the right bearer token."""

    status = 401


class NotFound(ServingError):
    """No such route."""

    status = 404


class ModelNotFound(NotFound):
    """No such model (or version) is loaded."""


class MethodNotAllowed(ServingError):
    """The route exists but not for this HTTP method (`allow`: the one it takes)."""

    status = 405

    def __init__(self, message: str, allow: str) -> None:
        super().__init__(message)
        self.allow = allow


class PayloadTooLarge(ServingError):
    """The request body is over the configured limit."""

    status = 413


class UnsupportedMediaType(ServingError):
    """The request body is encoded in a way the server does not read (e.g. compressed)."""

    status = 415


class ModelNotReady(ServingError):
    """The model exists but cannot serve yet (it is loading)."""

    status = 503


class ArtifactUnavailable(ServingError):
    """The artifact store could not be reached; the load may succeed later."""

    status = 503
