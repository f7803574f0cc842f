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
    """Logs one line when a fault starts and one when it ends: no storms.

    A part (the registry, the serving target, one InferenceService) is in fault from the
    first pass that reports one until the end of a pass in which it worked (`worked`) and
    reported none (`end_pass` logs "recovered"). So a registry that answers reads but fails
    every write, or a server whose index works but whose loads cannot be sent, stays one
    fault instead of a fault and a recovery on every pass. While a fault lasts, each distinct
    message is logged once (a server going down may first drop a connection, then refuse
    them), so messages that alternate from pass to pass add no lines either.
    """

    current: dict[str, str] = field(default_factory=dict)
    """Part → the latest message of its fault."""
    logged: dict[str, set[str]] = field(default_factory=dict)
    worked_now: set[str] = field(default_factory=set)
    failed_now: set[str] = field(default_factory=set)

    def fault(self, what: str, message: str, error: BaseException | None = None) -> None:
        """Note a fault of `what` in this pass; log it if this message is new for the fault
        (an unexpected `error` at ERROR level with its traceback, the others as warnings)."""
        self.failed_now.add(what)
        self.current[what] = message
        logged = self.logged.setdefault(what, set())
        if message not in logged:
            logged.add(message)
            level = logging.ERROR if error is not None else logging.WARNING
            log.log(level, "%s: %s", what, message, exc_info=error)

    def worked(self, what: str) -> None:
        """`what` answered in this pass (it recovers at the end of the pass unless it failed)."""
        self.worked_now.add(what)

    def end_pass(self) -> None:
        """Log "recovered" for each part in fault that worked, and did not fail, this pass."""
        for what in sorted(self.worked_now - self.failed_now):
            if self.current.pop(what, None) is not None:
                del self.logged[what]
                log.info("%s: recovered", what)
        self.worked_now.clear()
        self.failed_now.clear()
