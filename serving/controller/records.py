"""ServeModel records: what the controller observed, written only when it changes.

Upstream's API has no update for ServeModel, so each change is a new record and
`GET /inference_services/{id}/serves` is the history. States: RUNNING (serving that
version), COMPLETE (stopped serving it: undeployed or replaced), FAILED (could not serve it;
the reason is the record's `description` and its `reason` customProperty). The last record
per service is remembered (and read back after a restart), so an unchanged state or a
failure repeated on every retry writes nothing; nor does a failure of the same version whose
reason was already recorded since the service last served or stopped. Each record is logged
once: a FAILED one as a warning (it is the one log line of that fault), the others as info.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from serving.controller.registry import InferenceService, RegistryClient

log = logging.getLogger("serving.controller")

RUNNING, COMPLETE, FAILED = "RUNNING", "COMPLETE", "FAILED"


@dataclass(frozen=True)
class Observation:
    version_id: str
    state: str
    reason: str = ""


class ServeModelRecorder:
    """Appends ServeModel records on change; remembers the last one per service, and the
    FAILED ones written since it last served or stopped (its failure streak)."""

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry
        self.last: dict[tuple[str, str], Observation | None] = {}
        self.streaks: dict[tuple[str, str], set[Observation]] = {}

    def running(self, service: InferenceService, version_id: str) -> None:
        last = self.latest(service)
        if last == Observation(version_id, RUNNING):
            return
        if last is not None and last.state == RUNNING:
            self.write(
                service, Observation(last.version_id, COMPLETE, f"replaced by version {version_id}")
            )
        self.write(service, Observation(version_id, RUNNING))

    def failed(self, service: InferenceService, version_id: str, reason: str) -> None:
        """Record a failure unless this streak already has it: reasons that alternate from
        retry to retry (S3 refusing connections, then failing while it starts) write one
        record each, not one per retry."""
        observation = Observation(version_id, FAILED, reason)
        if self.latest(service) == observation:
            return
        if observation not in self.streaks.get(service.identity, set()):
            self.write(service, observation)

    def stopped(self, service: InferenceService) -> None:
        last = self.latest(service)
        if last is not None and last.state == RUNNING:
            self.write(service, Observation(last.version_id, COMPLETE, "undeployed"))

    def latest(self, service: InferenceService) -> Observation | None:
        if service.identity not in self.last:
            self.last[service.identity] = self.read_latest(service)
        return self.last[service.identity]

    def read_latest(self, service: InferenceService) -> Observation | None:
        serve = self.registry.latest_serve(service.id)
        if serve is None:
            return None
        reason = serve.description if serve.last_known_state == FAILED else ""
        return Observation(serve.model_version_id, serve.last_known_state, reason)

    def write(self, service: InferenceService, observation: Observation) -> None:
        self.registry.create_serve(
            service.id, observation.version_id, observation.state, observation.reason
        )
        self.remember(service, observation)
        level = logging.WARNING if observation.state == FAILED else logging.INFO
        log.log(level, "inference service %s (%s): version %s %s%s", service.name, service.id,
                observation.version_id, observation.state,
                f": {observation.reason}" if observation.reason else "")  # fmt: skip

    def remember(self, service: InferenceService, observation: Observation) -> None:
        """Note the record written; a FAILED one joins the streak of failures of its version."""
        self.last[service.identity] = observation
        if observation.state != FAILED:
            self.streaks.pop(service.identity, None)
            return
        streak = self.streaks.get(service.identity, set())
        same_version = {seen for seen in streak if seen.version_id == observation.version_id}
        self.streaks[service.identity] = same_version | {observation}
