"""The deployed models as last read from the registry, reused for a moment.

While a digit is drawn the draw page reruns up to ten times a second, and each run read the
InferenceServices from the registry again: 3-4 ms on a quiet machine, 5-50 ms on a busy one,
before the model could be asked. A session now reuses its read for MAX_AGE seconds (a deploy
or an undeploy made elsewhere shows on a draw page at most that much later; a page load reads
afresh), and forgets it as soon as an answer fails or the session's registry page writes a
desired state, so that the next run reads again.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.deployments import Deployment

MAX_AGE = 2.0
"""Seconds a read of the deployed models is reused."""


class RecentDeployments:
    """The last list of deployed models read, and when."""

    def __init__(self, max_age: float = MAX_AGE) -> None:
        self._max_age = max_age
        self._lock = threading.Lock()
        self._deployments: list[Deployment] | None = None
        self._read_at = 0.0

    def get(self, read: Callable[[], list[Deployment]]) -> list[Deployment]:
        """The deployments read less than `max_age` ago, else `read()`'s (errors not kept)."""
        with self._lock:
            if self._deployments is not None and time.monotonic() - self._read_at < self._max_age:
                return self._deployments
        deployments = read()
        with self._lock:
            self._deployments, self._read_at = deployments, time.monotonic()
        return deployments

    def forget(self) -> None:
        """Read again next time."""
        with self._lock:
            self._deployments = None
