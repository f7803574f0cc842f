"""Retry pacing and fault reporting for the reconcile loop."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

log = logging.getLogger("serving.controller")


@dataclass
class Backoff:
    """Per-key exponential backoff: initial, 2×initial, … up to maximum seconds."""

    initial: float
    maximum: float
    clock: Callable[[], float] = time.monotonic
    failures: dict[Hashable, tuple[int, float]] = field(default_factory=dict)

    def ready(self, key: Hashable) -> bool:
        """True when `key` has no pending wait."""
        entry = self.failures.get(key)
        return entry is None or self.clock() >= entry[1]

    def failed(self, key: Hashable) -> float:
        """Record a failure; returns the seconds until the next attempt."""
        count = self.failures.get(key, (0, 0.0))[0] + 1
        delay = min(self.initial * 2 ** (count - 1), self.maximum)
        self.failures[key] = (count, self.clock() + delay)
        return delay

    def succeeded(self, key: Hashable) -> None:
        self.failures.pop(key, None)

    def keep_only(self, keys: set[Hashable]) -> None:
        """Forget keys that no longer matter (the service changed or went away)."""
        for key in [k for k in self.failures if k not in keys]:
            del self.failures[key]


@dataclass
class FaultLog:
    """Logs one line when a fault starts (or changes) and one when it clears: no storms."""

    current: dict[str, str] = field(default_factory=dict)

    def fault(self, what: str, message: str) -> None:
        if self.current.get(what) != message:
            log.warning("%s: %s", what, message)
            self.current[what] = message

    def clear(self, what: str) -> None:
        if self.current.pop(what, None) is not None:
            log.info("%s: recovered", what)
