"""ServeModel records: what the controller observed, written only when it changes.

Upstream's API has no update for ServeModel, so each change is a new record and
`GET /inference_services/{id}/serves` is the history. States: RUNNING (serving that
version), COMPLETE (stopped serving it: undeployed or replaced), FAILED (could not serve it;
the reason is the record's `description` and its `reason` customProperty). The last record
per service is remembered (and read back after a restart), so an unchanged state or a
failure repeated on every retry writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from serving.controller.registry import InferenceService, RegistryClient, string_property

log = logging.getLogger("serving.controller")

RUNNING, COMPLETE, FAILED = "RUNNING", "COMPLETE", "FAILED"


@dataclass(frozen=True)
class Observation:
    version_id: str
    state: str
    reason: str = ""


class ServeModelRecorder:
    """Appends ServeModel records on change; remembers the last one per service."""

    def __init__(self, registry: RegistryClient) -> None:
        self.registry = registry
        self.last: dict[tuple[str, str], Observation | None] = {}

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
        observation = Observation(version_id, FAILED, reason)
        if self.latest(service) != observation:
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
        reason = (
            str(serve.get("description") or "") if serve.get("lastKnownState") == FAILED else ""
        )
        return Observation(
            str(serve.get("modelVersionId")), str(serve.get("lastKnownState")), reason
        )

    def write(self, service: InferenceService, observation: Observation) -> None:
        body: dict[str, object] = {
            "modelVersionId": observation.version_id,
            "lastKnownState": observation.state,
        }
        if observation.reason:
            body["description"] = observation.reason
            body["customProperties"] = {"reason": string_property(observation.reason)}
        self.registry.create_serve(service.id, body)
        self.last[service.identity] = observation
        log.info("inference service %s (%s): version %s %s%s", service.name, service.id,
                 observation.version_id, observation.state,
                 f": {observation.reason}" if observation.reason else "")  # fmt: skip
