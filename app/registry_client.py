"""The app's Model Registry client: the shared typed client (`mr_client`), speaking the app's
errors.

Every failure becomes an AppError the pages show as one sentence: RegistryUnavailable when
nothing answers, RegistryRequestFailed (with the registry's status and message) otherwise.
"""

from __future__ import annotations

from typing import Any

import mr_client
from app.errors import RegistryRequestFailed, RegistryUnavailable
from mr_client.transport import Document, Transport


class AppTransport(Transport):
    """mr_client's transport, raising the app's errors."""

    def exchange(
        self, what: str, method: str, path: str, missing_ok: bool, **kwargs: Any
    ) -> Document | None:
        try:
            return super().exchange(what, method, path, missing_ok, **kwargs)
        except mr_client.RegistryUnavailable as exc:
            if exc.status is None:
                raise RegistryUnavailable(self.base_url) from exc
            raise RegistryRequestFailed(exc.request, exc.status, exc.message) from exc
        except mr_client.Refused as exc:
            raise RegistryRequestFailed(exc.request, exc.status, exc.message) from exc


class RegistryClient(mr_client.RegistryClient):
    """Reads models, versions, artifacts and InferenceServices; flips desired states."""

    transport_type = AppTransport

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(base_url, timeout=timeout)
