"""What can go wrong talking to the registry: one tree, the HTTP status on the error."""

from __future__ import annotations


class RegistryError(Exception):
    """Any failure of a registry request."""


class RegistryUnavailable(RegistryError):
    """The registry could not be reached (refused, timed out, not HTTP) or answered 5xx."""

    def __init__(self, url: str, detail: str, status: int | None = None) -> None:
        super().__init__(f"the model registry at {url} is unavailable ({detail})")
        self.url = url
        self.detail = detail
        self.status = status


class Refused(RegistryError):
    """The registry answered a request with a 4xx status, or a 2xx that is not a JSON object."""

    def __init__(self, request: str, status: int, message: str) -> None:
        super().__init__(f"the model registry refused {request} (HTTP {status}: {message})")
        self.request = request
        self.status = status
        self.message = message


class NotFound(Refused):
    """The entity asked for does not exist (404)."""
