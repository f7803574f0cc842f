"""The KServe target: one `serving.kserve.io/v1beta1` InferenceService per registry service.

The snapshot is every resource in the namespace carrying this controller's owner labels
(`app.kubernetes.io/managed-by` and the serving environment); nothing else is ever changed
or deleted. Missing → create; our labels, annotations or spec differ (another version, a
new artifact) → merge patch guarded by resourceVersion; otherwise the resource's status
tells the outcome: Ready with its URL, Failed with KServe's reason, or Pending.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from serving.controller.kserve.api import (
    InferenceServiceApi,
    KubernetesConflict,
    KubernetesNotFound,
    KubernetesRefused,
)
from serving.controller.kserve.resources import (
    SERVICE_ID_LABEL,
    Placement,
    ServedModel,
    contains,
    inference_service_resource,
    label_value,
    needs_update,
    resource_name,
    resource_state,
    update_patch,
)
from serving.controller.registry import InferenceService
from serving.controller.resolve import ResolvedModel
from serving.controller.target import Failed, Outcome, Pending, Ready, TargetUnavailable

log = logging.getLogger("serving.controller")

Resources = list[dict[str, Any]]


def served_model(service: InferenceService, model: ResolvedModel) -> ServedModel:
    """What the resource for `service` must serve."""
    return ServedModel(
        service_id=service.id,
        service_name=service.name,
        registered_model_id=service.registered_model_id,
        runtime=service.runtime,
        version_id=model.version_id,
        version_name=model.version_name,
        model_format=model.model_format,
        model_format_version=model.model_format_version,
        storage_key=model.storage_key,
        storage_path=model.storage_path,
        storage_uri=model.storage_uri,
    )


def name_of(resource: dict[str, Any]) -> str:
    return str(resource["metadata"]["name"])


def service_id_of(resource: dict[str, Any]) -> str | None:
    return (resource["metadata"].get("labels") or {}).get(SERVICE_ID_LABEL)


class KServeTarget:
    """Creates, updates and deletes KServe InferenceServices for registry InferenceServices."""

    component = "Kubernetes API"

    def __init__(self, api: InferenceServiceApi, placement: Placement) -> None:
        self.api = api
        self.placement = placement

    def observe(self) -> Resources:
        return self.api.list(self.placement.selector)

    def deploy(self, service: InferenceService, model: ResolvedModel, seen: Resources) -> Outcome:
        desired = inference_service_resource(served_model(service, model), self.placement)
        name = desired["metadata"]["name"]
        current = next((r for r in self.resources_of(service, seen)
                        if r["metadata"]["name"] == name), None)  # fmt: skip
        if current is None:
            return self.create(desired)
        if needs_update(current, desired):
            return self.update(current, desired)
        return outcome_of(current)

    def create(self, desired: dict[str, Any]) -> Outcome:
        name = desired["metadata"]["name"]
        try:
            self.api.create(desired)
        except KubernetesConflict:
            return self.name_taken(name)
        except KubernetesRefused as exc:
            return Failed(f"InferenceService {name} refused: {exc}")
        log.info("created InferenceService %s/%s", self.placement.namespace, name)
        return Pending("created")

    def name_taken(self, name: str) -> Outcome:
        """Create said 409: ours (for another registry service, being removed) or not ours."""
        try:
            existing = self.api.get(name)
        except KubernetesNotFound:
            return Pending(f"{name} was deleted meanwhile")
        if contains(existing["metadata"].get("labels") or {}, self.placement.owner_labels):
            return Pending(f"{name} still belongs to inference service {service_id_of(existing)}")
        where = self.placement.namespace
        return Failed(f"an InferenceService named {name} already exists in namespace {where} "
                      "and is not managed by this controller")  # fmt: skip

    def update(self, current: dict[str, Any], desired: dict[str, Any]) -> Outcome:
        name = desired["metadata"]["name"]
        try:
            self.api.patch(name, update_patch(current, desired))
        except KubernetesConflict:  # changed since this pass read it: next pass reads again
            return Pending(f"{name} changed while being updated")
        except KubernetesNotFound:
            return Pending(f"{name} was deleted meanwhile")
        except KubernetesRefused as exc:
            return Failed(f"update of InferenceService {name} refused: {exc}")
        log.info("updated InferenceService %s/%s", self.placement.namespace, name)
        return Pending("updated")

    def undeploy(self, service: InferenceService, seen: Resources) -> None:
        for resource in self.resources_of(service, seen):
            self.delete(resource["metadata"]["name"], seen)

    def remove_orphans(self, services: Sequence[InferenceService], seen: Resources) -> list[str]:
        """Delete our resources whose service is gone, moved away or renamed."""
        wanted = {(label_value(s.id), resource_name(s.name)) for s in services}
        orphans = [name_of(resource) for resource in seen
                   if (service_id_of(resource), name_of(resource)) not in wanted]  # fmt: skip
        for name in orphans:
            self.delete(name, seen)
        return orphans

    def resources_of(self, service: InferenceService, seen: Resources) -> Resources:
        return [resource for resource in seen if service_id_of(resource) == label_value(service.id)]

    def delete(self, name: str, seen: Resources) -> None:
        """Delete `name` unless its deletion is already under way (finalizers at work)."""
        if any(r["metadata"]["name"] == name and r["metadata"].get("deletionTimestamp")
               for r in seen):  # fmt: skip
            return
        try:
            self.api.delete(name)
        except KubernetesRefused as exc:
            raise TargetUnavailable(f"cannot delete InferenceService {name}: {exc}") from None
        log.info("deleted InferenceService %s/%s", self.placement.namespace, name)

    def close(self) -> None:
        self.api.close()


def outcome_of(resource: dict[str, Any]) -> Outcome:
    """What an up-to-date resource's status says."""
    state = resource_state(resource)
    if state.failure is not None:  # KServe keeps retrying on its own: no backoff here
        return Failed(state.failure, retry_later=False)
    if state.ready and state.url:
        return Ready(state.url)
    return Pending(state.detail)
