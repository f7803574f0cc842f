"""Fault injection while the controller runs: S3, then the registry, then the inference server
stop for OUTAGE_SECONDS and come back on the same port with the same data.

Each time the controller must log one line for the fault (not one per pass; for S3 one per
reason the loads gave, see S3_FAILURES) and one when it recovers, record the reason on a
ServeModel where one is meaningful (a load that failed because S3 was down), keep running,
serve again once the part is back (a deploy asked for during the outage happens after it),
and append no more ServeModel records than the changes it saw. Run with `-s` for the
timings and counts. This module runs its own SeaweedFS (the session's is shared), which it
stops and restarts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from stack_calls import create_service, patch_service, poll_until, served_version, serves

from stack.proc import ServiceProcess
from stack.seaweed import S3Settings, running_seaweed

pytestmark = [pytest.mark.server, pytest.mark.slow]

OUTAGE_SECONDS = 3.0
"""How long each part stays down once stopped (the controller passes every 1 s)."""

CONVERGE_SECONDS = 30.0
"""Longest wait for the controller to serve again once a part is back."""


@pytest.fixture(scope="module")
def s3_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    """A SeaweedFS of this module's own, so that its tests may stop and restart it."""
    with running_seaweed(tmp_path_factory.mktemp("seaweed-faults")) as process:
        yield process


@pytest.fixture(scope="module")
def s3_server(s3_process: ServiceProcess) -> S3Settings:
    """Overrides the session's S3 here: make_stack and s3_upload use `s3_process`."""
    return S3Settings(endpoint=s3_process.url)


@dataclass
class FaultScene:
    """The stack, its S3 process, the services of the scenario and what was measured."""

    stack: Any
    s3: ServiceProcess
    services: dict[str, str]
    versions: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)
    down_since: dict[str, float] = field(default_factory=dict)

    def log(self) -> str:
        return str(self.stack.log("controller"))

    def faults_logged(self, component: str) -> list[str]:
        """The controller's WARNING lines about `component` (one per fault, not per pass)."""
        pattern = re.compile(rf" WARNING serving\.controller {re.escape(component)}: ")
        return [line for line in self.log().splitlines() if pattern.search(line)]

    def deploy(self, name: str) -> None:
        patch_service(self.stack, self.services[name], desiredState="DEPLOYED")

    def wait_served(self, name: str, measure: str) -> None:
        """Wait until `name` serves its version; note how long it took under `measure`."""
        started = time.monotonic()
        version = self.versions[name]
        poll_until(lambda: served_version(self.stack, name) == version, CONVERGE_SECONDS,
                   f"{name} served ({measure})")  # fmt: skip
        self.timings[measure] = time.monotonic() - started

    def wait_logged(self, text: str) -> None:
        poll_until(lambda: text in self.log(), CONVERGE_SECONDS, f"{text!r} in the log")

    def stop(self, part: str) -> None:
        started = self.down_since[part] = time.monotonic()
        if part == "s3":
            self.s3.stop()
        else:
            self.stack.stop(part)
        self.timings[f"stopping {part}"] = time.monotonic() - started

    def restart(self, part: str) -> None:
        """Start `part` again on the same port(s) with the same data directory or database."""
        started = time.monotonic()
        if part == "s3":
            self.s3.start().wait_healthy(timeout=90)
        else:
            self.stack.start(part)
        self.timings[f"restarting {part}"] = time.monotonic() - started
        self.timings[f"{part} down in all"] = time.monotonic() - self.down_since.pop(part)

    def serve_counts(self) -> dict[str, int]:
        """ServeModel records per service."""
        return {name: len(serves(self.stack, id_)) for name, id_ in self.services.items()}


SERVICES = ("steady", "during-s3", "after-registry", "during-server")


@pytest.fixture
def fault_scene(
    make_stack: Callable[..., Any],
    make_publisher: Callable[[Any], Any],
    make_model: Callable[..., bytes],
    s3_process: ServiceProcess,
) -> FaultScene:
    """`steady` served; the other services of SERVICES registered UNDEPLOYED."""
    stack = make_stack()
    publisher = make_publisher(stack)
    versions = {name: publisher.publish(name, "v1", make_model(seed=seed))
                for seed, name in enumerate(SERVICES)}  # fmt: skip
    services = {name: create_service(stack, name, publisher.models[name],
                                     desiredState="DEPLOYED" if name == "steady" else "UNDEPLOYED")
                for name in SERVICES}  # fmt: skip
    scene = FaultScene(stack, s3_process, services, versions)
    scene.wait_served("steady", "first deploy")
    return scene


S3_FAILURES = ("unreachable", "S3 failed while fetching")
"""The reasons a load gives while S3 is down, and while SeaweedFS starts again (its health
check passes a moment before its filer serves objects, which then fail with 500)."""


def s3_outage(scene: FaultScene) -> None:
    """S3 down: a deploy fails with the reason recorded once, and happens once S3 is back."""
    scene.stop("s3")
    scene.deploy("during-s3")
    service = scene.services["during-s3"]
    failed = poll_until(lambda: serves(scene.stack, service), CONVERGE_SECONDS, "FAILED record")
    assert [state for _, state, _ in failed] == ["FAILED"]
    assert "unreachable" in failed[0][2], failed
    time.sleep(OUTAGE_SECONDS)  # retried with backoff meanwhile
    assert served_version(scene.stack, "steady") == scene.versions["steady"]
    scene.restart("s3")
    scene.wait_served("during-s3", "deploy requested during the S3 outage")
    records = serves(scene.stack, service)
    failures = [reason for _, state, reason in records if state == "FAILED"]
    assert [state for _, state, _ in records] == ["FAILED"] * len(failures) + ["RUNNING"]
    assert len(failures) == len(set(failures)) <= len(S3_FAILURES), records
    assert all(any(f in reason for f in S3_FAILURES) for reason in failures), records
    assert len(scene.faults_logged(f"inference service during-s3 ({service})")) == len(failures)


def registry_outage(scene: FaultScene) -> None:
    """Registry down: one line, models keep serving, changes after it are acted on."""
    scene.stop("registry")
    scene.wait_logged("registry: registry unreachable")
    time.sleep(OUTAGE_SECONDS)
    assert served_version(scene.stack, "steady") == scene.versions["steady"]
    scene.restart("registry")
    scene.wait_logged("registry: recovered")
    scene.deploy("after-registry")
    scene.wait_served("after-registry", "deploy requested after the registry came back")


def server_outage(scene: FaultScene) -> None:
    """Inference server down: one line; once back, what was served and what was asked for
    during the outage serve."""
    scene.stop("serving")
    scene.wait_logged("inference server: inference server unreachable")
    scene.deploy("during-server")
    time.sleep(OUTAGE_SECONDS)
    scene.restart("serving")
    scene.wait_served("steady", "steady served again after the server restart")
    scene.wait_served("during-server", "deploy requested during the server outage")
    scene.wait_logged("inference server: recovered")


def report(scene: FaultScene, before: dict[str, int], after: dict[str, int]) -> str:
    lines = [f"  {what}: {seconds:.1f} s" for what, seconds in scene.timings.items()]
    lines += [f"  controller log, {component}: {len(scene.faults_logged(component))} fault line(s)"
              for component in ("registry", "inference server")]  # fmt: skip
    attempts = scene.stack.log("serving").count("load of model during-s3 version")
    lines.append(f"  loads of during-s3 that failed (retries with backoff): {attempts}")
    lines.append(f"  ServeModel records per service: before {before}, after {after}")
    return "\n".join(["fault injection:", *lines])


def test_controller_rides_out_s3_registry_and_server_outages(fault_scene: FaultScene) -> None:
    before = fault_scene.serve_counts()
    s3_outage(fault_scene)
    registry_outage(fault_scene)
    server_outage(fault_scene)
    stack = fault_scene.stack
    records = fault_scene.serve_counts()
    print(report(fault_scene, before, records))
    assert before == {"steady": 1, "during-s3": 0, "after-registry": 0, "during-server": 0}
    assert len(fault_scene.faults_logged("registry")) == 1, fault_scene.faults_logged("registry")
    assert len(fault_scene.faults_logged("inference server")) == 1
    assert fault_scene.log().count("recovered") == 2
    assert records.pop("during-s3") <= 1 + len(S3_FAILURES)  # a FAILED per reason, RUNNING
    assert records == {"steady": 1, "after-registry": 1, "during-server": 1}
    assert stack.processes["controller"].alive()
    assert not re.search("Traceback|unexpected error|reconcile pass", fault_scene.log())
    assert httpx.get(f"{stack.serving_url}/v2/health/ready").status_code == 200
