"""`--dry-run --out DIR`: write the KServe manifests instead of applying them.

One pass over the registry (read only: no ServingEnvironment is created, no ServeModel or
`url` written): each DEPLOYED InferenceService of the environment and runtime(s) becomes
`DIR/<resource name>.yaml`, exactly the resource the KServe target would create. Files this
controller wrote before for services no longer deployed are removed, so `DIR` can be
applied with `kubectl apply --prune` or committed to a GitOps repository.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml

from serving.controller.config import ControllerSettings
from serving.controller.kserve.resources import Placement, contains, inference_service_resource
from serving.controller.kserve_target import served_model
from serving.controller.reconcile import DEPLOYED
from serving.controller.registry import InferenceService, RegistryClient
from serving.controller.resolve import ResolveFailed, resolve_model

log = logging.getLogger("serving.controller")


def deployed_services(
    settings: ControllerSettings, registry: RegistryClient
) -> list[InferenceService]:
    environment_id = registry.find_environment_id(settings.environment)
    if environment_id is None:
        log.warning("no serving environment %r in the registry: nothing to write",
                    settings.environment)  # fmt: skip
        return []
    services = registry.inference_services(environment_id)
    return [s for s in services if s.runtime in settings.runtime and s.desired_state == DEPLOYED]


def write_manifests(
    settings: ControllerSettings, registry: RegistryClient, placement: Placement
) -> int:
    """Write one YAML file per deployed service; returns how many services could not be."""
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    written: set[Path] = set()
    failures = 0
    for service in deployed_services(settings, registry):
        try:
            model = resolve_model(
                registry, service, settings.allowed_buckets, settings.allowed_oci_registries
            )
        except ResolveFailed as exc:
            log.error("inference service %s (%s): %s", service.name, service.id, exc.reason)
            failures += 1
            continue
        resource = inference_service_resource(served_model(service, model), placement)
        path = out / f"{resource['metadata']['name']}.yaml"
        path.write_text(yaml.safe_dump(resource, sort_keys=False))
        written.add(path)
        log.info("wrote %s (inference service %s, version %s)", path, service.id, model.version_id)
    remove_stale(out, placement, written)
    return failures


def remove_stale(out: Path, placement: Placement, keep: set[Path]) -> None:
    """Delete manifests this controller wrote earlier that no service wants any more."""
    for path in sorted(out.glob("*.yaml")):
        if path not in keep and ours(read_yaml(path), placement):
            path.unlink()
            log.info("removed %s: no deployed inference service wants it", path)


def read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None


def ours(document: Any, placement: Placement) -> bool:
    if not isinstance(document, dict) or document.get("kind") != "InferenceService":
        return False
    labels = (document.get("metadata") or {}).get("labels") or {}
    return contains(labels, placement.owner_labels)
