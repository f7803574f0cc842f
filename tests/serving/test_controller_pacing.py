"""Retry pacing and fault logging of the controller, in process."""

from __future__ import annotations

import logging

import pytest

from serving.controller.health import Backoff, FaultLog


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_up_to_the_maximum_and_resets() -> None:
    clock = Clock()
    backoff = Backoff(initial=1.0, maximum=5.0, clock=clock)
    assert backoff.ready("svc")
    delays = [backoff.failed("svc") for _ in range(5)]
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert not backoff.ready("svc")
    clock.now += 5.0
    assert backoff.ready("svc")
    backoff.succeeded("svc")
    assert backoff.failed("svc") == 1.0


def test_backoff_forgets_keys_no_longer_attempted() -> None:
    backoff = Backoff(initial=1.0, maximum=5.0, clock=Clock())
    backoff.failed("old")
    backoff.failed("kept")
    backoff.keep_only({"kept"})
    assert backoff.ready("old")
    assert not backoff.ready("kept")


def test_fault_log_writes_one_line_per_fault_and_one_on_recovery(
    caplog: pytest.LogCaptureFixture,
) -> None:
    faults = FaultLog()
    with caplog.at_level(logging.INFO, logger="serving.controller"):
        for _ in range(3):
            faults.fault("registry", "registry unreachable")
        faults.fault("registry", "registry failed GET /x")
        faults.clear("registry")
        faults.clear("registry")
    assert [record.getMessage() for record in caplog.records] == [
        "registry: registry unreachable",
        "registry: registry failed GET /x",
        "registry: recovered",
    ]
