"""The level-triggered reconcile loop: registry desired state → inference server → records.

Each pass reads everything afresh (the services of our environment and runtime(s), the
server's index), acts on the difference, and writes observations back. A pass that cannot
read the registry or the server changes nothing; a failing service never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable

from serving.controller.config import ControllerSettings
from serving.controller.health import Backoff, FaultLog
from serving.controller.records import ServeModelRecorder
from serving.controller.registry import (
    InferenceService,
    RegistryClient,
    RegistryError,
    RegistryNotFound,
    property_text,
)
from serving.controller.server import LoadedModel, LoadFailed, ServingClient, ServingUnavailable
from serving.controller.targets import DeploymentTarget, ResolveFailed, resolve_target

log = logging.getLogger("serving.controller")

DEPLOYED = "DEPLOYED"
REGISTRY, SERVER = "registry", "inference server"


class Reconciler:
    """Makes the inference server serve what the registry's InferenceServices ask for."""

    def __init__(
        self, settings: ControllerSettings, registry: RegistryClient, server: ServingClient
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.server = server
        self.recorder = ServeModelRecorder(registry)
        self.backoff = Backoff(settings.backoff_initial, settings.backoff_max)
        self.faults = FaultLog()
        self.environment_id: str | None = None
        self.attempted: set[Hashable] = set()

    def run(self, stop: threading.Event) -> None:
        """Reconcile every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.reconcile_once()
            except Exception:
                log.exception("reconcile pass failed; retrying next pass")
            stop.wait(max(0.0, self.settings.interval - (time.monotonic() - started)))

    def reconcile_once(self) -> bool:
        """One pass; False when the registry or the server could not be read."""
        services = self.read_services()
        loaded = self.read_server() if services is not None else None
        if services is None or loaded is None:
            return False
        self.attempted = set()
        for service in services:
            self.reconcile_service(service, loaded.get(service.name))
        self.unload_orphans(loaded, {service.name for service in services})
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
        self.faults.clear(REGISTRY)
        return [service for service in services if service.runtime in self.settings.runtime]

    def read_server(self) -> dict[str, LoadedModel] | None:
        try:
            loaded = self.server.index()
        except ServingUnavailable as exc:
            self.faults.fault(SERVER, str(exc))
            return None
        self.faults.clear(SERVER)
        return loaded

    def reconcile_service(self, service: InferenceService, loaded: LoadedModel | None) -> None:
        try:
            if service.desired_state == DEPLOYED:
                self.deploy(service, loaded)
            else:
                self.undeploy(service, loaded)
        except ServingUnavailable as exc:
            self.faults.fault(SERVER, str(exc))
        except RegistryError as exc:
            self.faults.fault(REGISTRY, str(exc))
        except Exception as exc:
            log.exception("inference service %s: unexpected error", service.name)
            self.faults.fault(f"inference service {service.name}", repr(exc))

    def deploy(self, service: InferenceService, loaded: LoadedModel | None) -> None:
        try:
            target = resolve_target(self.registry, service, self.settings.allowed_buckets)
        except ResolveFailed as exc:
            self.resolve_failed(service, exc)
            return
        self.faults.clear(f"inference service {service.name}")
        key = (service.identity, target)
        self.attempted.add(key)
        if not self.serving(loaded, target) and not self.load(service, target, key):
            return
        self.recorder.running(service, target.version_id)
        self.publish_url(service)

    def serving(self, loaded: LoadedModel | None, target: DeploymentTarget) -> bool:
        return (
            loaded is not None
            and loaded.ready
            and loaded.version == target.version_id
            and loaded.owner == self.settings.owner
        )

    def load(self, service: InferenceService, target: DeploymentTarget, key: Hashable) -> bool:
        """Ask the server to load `target` (unless backing off); on refusal record FAILED."""
        if not self.backoff.ready(key):
            return False
        model_name = self.registry.registered_model_name(service.registered_model_id)
        parameters = target.load_parameters(self.settings.owner, model_name)
        try:
            self.server.load(service.name, parameters)
        except LoadFailed as exc:
            delay = self.backoff.failed(key)
            self.recorder.failed(service, target.version_id, str(exc))
            log.debug("inference service %s: retrying in %.0f s", service.name, delay)
            return False
        self.backoff.succeeded(key)
        return True

    def resolve_failed(self, service: InferenceService, exc: ResolveFailed) -> None:
        if exc.version_id is not None:
            self.recorder.failed(service, exc.version_id, exc.reason)
        else:  # no version to attach a ServeModel to: the log is all there is
            self.faults.fault(f"inference service {service.name}", exc.reason)

    def publish_url(self, service: InferenceService) -> None:
        url = self.settings.model_url(service.name)
        if property_text(service.custom_properties, "url") != url:
            self.registry.set_service_property(service, "url", url)

    def undeploy(self, service: InferenceService, loaded: LoadedModel | None) -> None:
        if self.owned(loaded) and loaded is not None and loaded.state != "UNAVAILABLE":
            self.server.unload(service.name)
        self.recorder.stopped(service)

    def owned(self, loaded: LoadedModel | None) -> bool:
        return loaded is not None and loaded.owner == self.settings.owner

    def unload_orphans(self, loaded: dict[str, LoadedModel], service_names: set[str]) -> None:
        """Unload models this controller loaded for services that no longer exist here."""
        for name, model in loaded.items():
            if name not in service_names and self.owned(model) and model.state != "UNAVAILABLE":
                try:
                    self.server.unload(name)
                    log.info("unloaded %s: no inference service of ours wants it", name)
                except ServingUnavailable as exc:
                    self.faults.fault(SERVER, str(exc))
