"""The level-triggered reconcile loop: registry desired state → serving target → records.

Each pass reads everything afresh (the services of our environment and runtime(s), what the
target runs for us), acts on the difference, and writes observations back. A pass that
cannot read the registry or the target changes nothing; a failing service never stops the
others. The target (local inference server or KServe) is chosen by `--target`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from typing import Generic

from serving.controller.config import ControllerSettings
from serving.controller.health import Backoff, FaultLog
from serving.controller.records import ServeModelRecorder
from serving.controller.registry import (
    InferenceService,
    RegistryClient,
    RegistryError,
    RegistryNotFound,
)
from serving.controller.resolve import ResolvedModel, ResolveFailed, resolve_model
from serving.controller.target import (
    Failed,
    Outcome,
    Ready,
    ServingTarget,
    Snapshot,
    TargetUnavailable,
)

log = logging.getLogger("serving.controller")

DEPLOYED = "DEPLOYED"
REGISTRY = "registry"
PASS = "reconcile pass"


def service_part(service: InferenceService) -> str:
    """How faults of one InferenceService are named in the log."""
    return f"inference service {service.name}"


class Reconciler(Generic[Snapshot]):
    """Makes the serving target serve what the registry's InferenceServices ask for."""

    def __init__(
        self,
        settings: ControllerSettings,
        registry: RegistryClient,
        target: ServingTarget[Snapshot],
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.target = target
        self.recorder = ServeModelRecorder(registry)
        self.backoff = Backoff(settings.backoff_initial, settings.backoff_max)
        self.faults = FaultLog()
        self.environment_id: str | None = None
        self.attempted: set[Hashable] = set()

    def run(self, stop: threading.Event) -> None:
        """Reconcile every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            started = time.monotonic()
            self.reconcile_once()
            stop.wait(max(0.0, self.settings.interval - (time.monotonic() - started)))

    def reconcile_once(self) -> bool:
        """One pass; False when the registry or the target could not be read, or the pass
        failed unexpectedly. Its faults are logged once each, recoveries at its end."""
        try:
            done = self.reconcile_pass()
        except Exception as exc:
            self.faults.fault(PASS, f"failed, retrying next pass: {exc!r}", exc)
            return False
        else:
            self.faults.worked(PASS)
            return done
        finally:
            self.faults.end_pass()

    def reconcile_pass(self) -> bool:
        self.registry.forget_names()
        services = self.read_services()
        seen = self.observe() if services is not None else None
        if services is None or seen is None:
            return False
        self.attempted = set()
        for service in services:
            self.reconcile_service(service, seen)
        self.remove_orphans(services, seen)
        self.backoff.keep_only(self.attempted)
        return True

    def read_services(self) -> list[InferenceService] | None:
        try:
            if self.environment_id is None:
                self.environment_id = self.registry.environment_id(self.settings.environment)
            services = self.registry.inference_services(self.environment_id)
        except RegistryNotFound as exc:
            self.environment_id = None  # the database was replaced: find or create it again
            self.faults.fault(REGISTRY, str(exc))
            return None
        except RegistryError as exc:
            self.faults.fault(REGISTRY, str(exc))
            return None
        self.faults.worked(REGISTRY)
        return [service for service in services if service.runtime in self.settings.runtime]

    def observe(self) -> Snapshot | None:
        try:
            seen = self.target.observe()
        except TargetUnavailable as exc:
            self.faults.fault(self.target.component, str(exc))
            return None
        self.faults.worked(self.target.component)
        return seen

    def reconcile_service(self, service: InferenceService, seen: Snapshot) -> None:
        try:
            if service.desired_state == DEPLOYED:
                self.deploy(service, seen)
            else:
                self.target.undeploy(service, seen)
                self.recorder.stopped(service)
        except TargetUnavailable as exc:
            self.faults.fault(self.target.component, str(exc))
        except RegistryError as exc:
            self.faults.fault(REGISTRY, str(exc))
        except Exception as exc:
            self.faults.fault(service_part(service), f"unexpected error: {exc!r}", exc)

    def deploy(self, service: InferenceService, seen: Snapshot) -> None:
        try:
            model = resolve_model(
                self.registry,
                service,
                self.settings.allowed_buckets,
                self.settings.allowed_oci_registries,
            )
        except ResolveFailed as exc:
            self.resolve_failed(service, exc)
            return
        self.faults.worked(service_part(service))
        key = (service.identity, model)
        self.attempted.add(key)
        if self.backoff.ready(key):
            self.record(service, model, key, self.target.deploy(service, model, seen))

    def record(
        self, service: InferenceService, model: ResolvedModel, key: Hashable, outcome: Outcome
    ) -> None:
        """ServeModel records (and the url) for what the target reported."""
        if isinstance(outcome, Failed):
            if outcome.retry_later:
                delay = self.backoff.failed(key)
                log.debug("inference service %s: retrying in %.0f s", service.name, delay)
            self.recorder.failed(service, model.version_id, outcome.reason)
            return
        self.backoff.succeeded(key)
        if isinstance(outcome, Ready):
            self.recorder.running(service, model.version_id)
            self.publish_url(service, outcome.url)

    def resolve_failed(self, service: InferenceService, exc: ResolveFailed) -> None:
        if exc.version_id is not None:
            self.recorder.failed(service, exc.version_id, exc.reason)
        else:  # no version to attach a ServeModel to: the log is all there is
            self.faults.fault(service_part(service), exc.reason)

    def publish_url(self, service: InferenceService, url: str) -> None:
        if service.property_text("url") != url:
            self.registry.set_service_property(service, "url", url)

    def remove_orphans(self, services: list[InferenceService], seen: Snapshot) -> None:
        """Stop what this controller serves for services that no longer exist here."""
        try:
            for name in self.target.remove_orphans(services, seen):
                log.info("removed %s: no inference service of ours wants it", name)
        except TargetUnavailable as exc:
            self.faults.fault(self.target.component, str(exc))
