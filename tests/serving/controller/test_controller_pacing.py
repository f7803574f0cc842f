"""Retry pacing and fault logging of the controller, in process (fake registry and target)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from mr_client import ModelArtifact, ModelVersion, ServeModel
from serving.controller.config import ControllerSettings
from serving.controller.health import Backoff, FaultLog
from serving.controller.reconcile import Reconciler
from serving.controller.records import ServeModelRecorder
from serving.controller.registry import InferenceService, RegistryUnavailable
from serving.controller.target import Ready

SERVICE = InferenceService(id="6", name="digits", desired_state="DEPLOYED", runtime="mmserver1",
                           registered_model_id="2", model_version_id="4", created="t0")  # fmt: skip


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


WORKED = None
"""In a pass script: the part answered (a string is a fault with that message)."""

UNREACHABLE = "registry unreachable"
REFUSED = "unreachable (RemoteProtocolError)"
DOWN = "unreachable (ConnectError)"
LOCKED = "registry failed POST /serves: database is locked"


def logged_lines(
    caplog: pytest.LogCaptureFixture, faults: FaultLog, part: str, passes: list[list[str | None]]
) -> list[str]:
    """Run each pass's events for `part` (WORKED or a fault message), then end the pass."""
    with caplog.at_level(logging.INFO, logger="serving.controller"):
        for events in passes:
            for event in events:
                if event is WORKED:
                    faults.worked(part)
                else:
                    faults.fault(part, event)
            faults.end_pass()
    return [record.getMessage() for record in caplog.records]


@pytest.mark.parametrize(
    ("part", "passes", "lines"),
    [
        pytest.param(
            "registry",
            [[UNREACHABLE]] * 3 + [["registry failed GET /x"]] + [[WORKED]] * 2,
            [UNREACHABLE, "registry failed GET /x", "recovered"],
            id="one-line-per-fault-and-one-on-recovery",
        ),
        pytest.param(
            "inference server",
            [[REFUSED], [DOWN]] * 5 + [[WORKED], [DOWN]],
            [REFUSED, DOWN, "recovered", DOWN],
            id="alternating-messages-once-each",
        ),
        pytest.param(
            "registry",
            [[WORKED, LOCKED]] * 4,  # the read worked, a write of the same pass failed
            [LOCKED],
            id="a-fault-while-the-part-works-and-fails-in-each-pass",
        ),
    ],
)
def test_fault_log_writes_a_line_when_a_fault_starts_changes_message_or_ends(
    caplog: pytest.LogCaptureFixture, part: str, passes: list[list[str | None]], lines: list[str]
) -> None:
    assert logged_lines(caplog, FaultLog(), part, passes) == [f"{part}: {line}" for line in lines]


def test_fault_log_keeps_a_fault_while_the_part_works_and_fails_in_each_pass(
    caplog: pytest.LogCaptureFixture,
) -> None:
    faults = FaultLog()
    logged_lines(caplog, faults, "registry", [[WORKED, LOCKED]] * 4)
    assert faults.current == {"registry": LOCKED}


class ReadOnlyRegistry:
    """A registry that answers every read and fails every write, as a locked database does."""

    def environment_id(self, name: str) -> str:
        return "1"

    def inference_services(self, environment_id: str) -> list[InferenceService]:
        return [SERVICE]

    def model_version(self, version_id: str) -> ModelVersion:
        return ModelVersion(id=version_id, name="v1", registered_model_id="2")

    def newest_model_artifact(self, version_id: str) -> ModelArtifact:
        return ModelArtifact(id="1", name="model", uri="s3://models/MNIST/v1/model.onnx")

    def registered_model_name(self, registered_model_id: str) -> str:
        return "MNIST"

    def forget_names(self) -> None:
        pass

    def latest_serve(self, service_id: str) -> None:
        return None

    def create_serve(self, service_id: str, version_id: str, state: str, reason: str = "") -> None:
        raise RegistryUnavailable("registry failed POST /serves: database is locked", "")


class FakeTarget:
    """A target that serves whatever it is asked to, or fails unexpectedly when told to."""

    component = "inference server"

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error

    def observe(self) -> dict[str, Any]:
        return {}

    def deploy(self, service: InferenceService, model: Any, seen: Any) -> Ready:
        if self.error is not None:
            raise self.error
        return Ready("http://127.0.0.1:8008/v2/models/digits")

    def remove_orphans(self, services: Any, seen: Any) -> list[str]:
        return []


def warnings_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_reconcile_registry_failing_every_write_logs_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reconciler = Reconciler(ControllerSettings.from_args([]), ReadOnlyRegistry(), FakeTarget())
    with caplog.at_level(logging.INFO, logger="serving.controller"):
        for _ in range(5):
            reconciler.reconcile_once()
    assert [r.getMessage() for r in caplog.records] == [
        "registry: registry failed POST /serves: database is locked"
    ]


def test_reconcile_unexpected_error_logs_one_traceback_and_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    target = FakeTarget(error=KeyError("state"))
    reconciler = Reconciler(ControllerSettings.from_args([]), ReadOnlyRegistry(), target)
    with caplog.at_level(logging.INFO, logger="serving.controller"):
        assert all(reconciler.reconcile_once() for _ in range(5))
    assert warnings_logged(caplog) == [
        "inference service digits: unexpected error: KeyError('state')"
    ]
    assert caplog.records[0].exc_info is not None


class GarbledRegistry(ReadOnlyRegistry):
    """A registry whose list answers cannot be read (a proxy answering 200 with HTML)."""

    garbled = True

    def inference_services(self, environment_id: str) -> list[InferenceService]:
        if self.garbled:
            raise ValueError("Expecting value: line 1 column 1 (char 0)")
        return []


def test_reconcile_pass_failing_unexpectedly_logs_once_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    registry = GarbledRegistry()
    reconciler = Reconciler(ControllerSettings.from_args([]), registry, FakeTarget())
    with caplog.at_level(logging.INFO, logger="serving.controller"):
        assert [reconciler.reconcile_once() for _ in range(3)] == [False, False, False]
        registry.garbled = False
        assert reconciler.reconcile_once()
    assert [r.getMessage() for r in caplog.records] == [
        "reconcile pass: failed, retrying next pass: "
        "ValueError('Expecting value: line 1 column 1 (char 0)')",
        "reconcile pass: recovered",
    ]


class ServeLedger:
    """The ServeModel calls of a registry, kept in a list."""

    def __init__(self) -> None:
        self.written: list[tuple[str, str]] = []

    def latest_serve(self, service_id: str) -> None:
        return None

    def create_serve(
        self, service_id: str, version_id: str, state: str, reason: str = ""
    ) -> ServeModel:
        self.written.append((state, reason))
        return ServeModel(id=str(len(self.written)), name="", model_version_id=version_id,
                          last_known_state=state, description=reason)  # fmt: skip


def test_recorder_writes_alternating_failure_reasons_once_per_streak() -> None:
    ledger = ServeLedger()
    recorder = ServeModelRecorder(ledger)  # type: ignore[arg-type]
    service = SERVICE
    for _ in range(3):
        recorder.failed(service, "4", "S3 unreachable")
        recorder.failed(service, "4", "S3 failed (InternalError)")
    recorder.running(service, "4")
    recorder.failed(service, "4", "S3 unreachable")
    assert ledger.written == [("FAILED", "S3 unreachable"), ("FAILED", "S3 failed (InternalError)"),
                              ("RUNNING", ""), ("FAILED", "S3 unreachable")]  # fmt: skip
