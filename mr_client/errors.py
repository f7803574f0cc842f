"""What can go wrong talking to the registry: one tree, the HTTP status on the error.

Messages read `registry unreachable at URL (...)`, `registry failed to WHAT (HTTP 5xx: ...)`
and `registry refused to WHAT (HTTP 4xx: ...)`; a part that words its own messages reads
`request`, `status` and `message` instead.
"""

from __future__ import annotations


class RegistryError(Exception):
    """Any failure of a registry request."""


class RegistryUnavailable(RegistryError):
    """The registry could not be reached (refused, timed out, not HTTP) or answered 5xx."""

    def __init__(
        self, text: str, url: str, status: int | None = None, request: str = "", message: str = ""
    ) -> None:
        super().__init__(text)
        self.url = url
        self.status = status
        """The 5xx status; None when nothing answered."""
        self.request = request
        self.message = message

    @classmethod
    def unreachable(cls, url: str, exc: Exception) -> RegistryUnavailable:
        return cls(f"registry unreachable at {url} ({type(exc).__name__}: {exc})", url)

    @classmethod
    def failed(cls, url: str, request: str, status: int, message: str) -> RegistryUnavailable:
        text = f"registry failed to {request} (HTTP {status}: {message})"
        return cls(text, url, status, request, message)


class Refused(RegistryError):
    """The registry answered a request with a 4xx status, or a 2xx that is not a JSON object."""

    def __init__(self, request: str, status: int, message: str) -> None:
        super().__init__(f"registry refused to {request} (HTTP {status}: {message})")
        self.request = request
        self.status = status
        self.message = message


class NotFound(Refused):
    """The entity asked for does not exist (404)."""
