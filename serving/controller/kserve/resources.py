"""KServe `serving.kserve.io/v1beta1` InferenceService resources for registry InferenceServices.

Pure functions, no Kubernetes client: the resource a registry InferenceService becomes
(`inference_service_resource`), whether an existing resource needs an update and the merge
patch that makes it so, and what its `status` says (ready with a URL, failed, or pending).
The controller's KServe target (`serving.controller.kserve_target`) and its `--dry-run`
manifest writer both build on these.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serving.names import model_path

GROUP, VERSION, PLURAL, KIND = (
    "serving.kserve.io",
    "v1beta1",
    "inferenceservices",
    "InferenceService",
)
API_VERSION = f"{GROUP}/{VERSION}"

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "model-controller"
PREFIX = "modelregistry.kubeflow.org"
ENVIRONMENT_LABEL = f"{PREFIX}/serving-environment"
SERVICE_ID_LABEL = f"{PREFIX}/inference-service-id"
MODEL_ID_LABEL = f"{PREFIX}/registered-model-id"
VERSION_ID_LABEL = f"{PREFIX}/model-version-id"
SERVICE_NAME_ANNOTATION = f"{PREFIX}/inference-service-name"
VERSION_NAME_ANNOTATION = f"{PREFIX}/model-version-name"
SPEC_HASH_ANNOTATION = f"{PREFIX}/spec-hash"
DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"

# DNS-1035 label (KServe's rule for InferenceService names), at most 45 characters so that
# KServe's derived names (`<name>-predictor-00001`, `<name>-predictor-<namespace>`) still fit.
MAX_NAME_LENGTH = 45
NAME_PATTERN = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE_PATTERN = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
FAILED_TRANSITIONS = {"BlockedByFailedLoad", "InvalidSpec"}
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def pod_namespace(path: Path = SERVICE_ACCOUNT_NAMESPACE) -> str | None:
    """The pod's own namespace when running in a cluster (None elsewhere)."""
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class Placement:
    """Where and how resources are created: namespace, deployment mode, owning environment."""

    namespace: str
    mode: str
    environment: str

    @property
    def owner_labels(self) -> dict[str, str]:
        """The labels that mark a resource as this controller's (also its list selector)."""
        return {MANAGED_BY: MANAGER, ENVIRONMENT_LABEL: label_value(self.environment)}

    @property
    def selector(self) -> str:
        return ",".join(f"{key}={value}" for key, value in self.owner_labels.items())


@dataclass(frozen=True)
class ServedModel:
    """What the resource must serve (from the registry: service, version, artifact)."""

    service_id: str
    service_name: str
    registered_model_id: str
    runtime: str | None
    version_id: str
    version_name: str
    model_format: str
    model_format_version: str | None
    storage_key: str | None
    storage_path: str | None
    storage_uri: str


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def resource_name(service_name: str) -> str:
    """The resource name: the service's name when it is a valid short DNS-1035 label, else
    a cleaned-up form plus a hash of the original (stable, and distinct for distinct names)."""
    if len(service_name) <= MAX_NAME_LENGTH and NAME_PATTERN.fullmatch(service_name):
        return service_name
    cleaned = re.sub(r"[^a-z0-9]+", "-", service_name.lower()).strip("-")
    cleaned = cleaned if cleaned[:1].isalpha() else f"isvc-{cleaned}".rstrip("-")
    stem = cleaned[: MAX_NAME_LENGTH - 9].rstrip("-")
    return f"{stem}-{short_hash(service_name)}"


def label_value(text: str) -> str:
    """`text` when it is a valid label value, else a cleaned-up form plus a hash."""
    if len(text) <= 63 and LABEL_VALUE_PATTERN.fullmatch(text):
        return text
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:54]
    cleaned = re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)
    return f"{cleaned}-{short_hash(text)}" if cleaned else short_hash(text)


def predictor_model(model: ServedModel, mode: str) -> dict[str, Any]:
    """`spec.predictor.model`: format, runtime and where the artifact is."""
    model_format = {"name": model.model_format}
    if model.model_format_version:
        model_format["version"] = model.model_format_version
    spec: dict[str, Any] = {"modelFormat": model_format}
    if model.runtime:
        spec["runtime"] = model.runtime
    if mode != "ModelMesh":  # KServe's own model servers: speak the Open Inference Protocol
        spec["protocolVersion"] = "v2"
    if model.storage_key:
        path = model.storage_path or model.storage_uri.split("/", 3)[-1]
        spec["storage"] = {"key": model.storage_key, "path": path}
    else:
        spec["storageUri"] = model.storage_uri
    return spec


def inference_service_resource(model: ServedModel, placement: Placement) -> dict[str, Any]:
    """The InferenceService resource for one registry InferenceService."""
    spec = {"predictor": {"model": predictor_model(model, placement.mode)}}
    labels = {
        **placement.owner_labels,
        SERVICE_ID_LABEL: label_value(model.service_id),
        MODEL_ID_LABEL: label_value(model.registered_model_id),
        VERSION_ID_LABEL: label_value(model.version_id),
    }
    annotations = {
        DEPLOYMENT_MODE_ANNOTATION: placement.mode,
        SERVICE_NAME_ANNOTATION: model.service_name,
        VERSION_NAME_ANNOTATION: model.version_name,
        SPEC_HASH_ANNOTATION: short_hash(json.dumps(spec, sort_keys=True), 16),
    }
    metadata = {"name": resource_name(model.service_name), "namespace": placement.namespace,
                "labels": labels, "annotations": annotations}  # fmt: skip
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": metadata, "spec": spec}


def contains(whole: Any, part: Any) -> bool:
    """True when every field of `part` is in `whole` with the same value (lists: equal)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(
            key in whole and contains(whole[key], value) for key, value in part.items()
        )
    return bool(whole == part)


def needs_update(current: dict[str, Any], desired: dict[str, Any]) -> bool:
    """Our labels, annotations or spec are not (all) in the existing resource.

    Fields the API server or KServe's webhook added are not a difference; the spec hash
    annotation catches fields we no longer set.
    """
    mine = {"metadata": {key: desired["metadata"][key] for key in ("labels", "annotations")},
            "spec": desired["spec"]}  # fmt: skip
    return not contains(current, mine)


def merge_patch(current: Any, desired: Any) -> Any:
    """The JSON merge patch (RFC 7386) turning `current` into `desired`."""
    if not isinstance(current, dict) or not isinstance(desired, dict):
        return desired
    patch = {key: None for key in current if key not in desired}
    for key, value in desired.items():
        if key not in current or current[key] != value:
            patch[key] = merge_patch(current.get(key), value)
    return patch


def update_patch(current: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """Merge patch for labels, annotations (ours only) and the whole spec, guarded by the
    resourceVersion it was computed from (the API server answers 409 when it changed)."""
    metadata = {"resourceVersion": current["metadata"]["resourceVersion"],
                "labels": desired["metadata"]["labels"],
                "annotations": desired["metadata"]["annotations"]}  # fmt: skip
    return {"metadata": metadata, "spec": merge_patch(current.get("spec"), desired["spec"])}


@dataclass(frozen=True)
class ResourceState:
    """What a resource's status says: `ready` with `url`, `failure` reason, or neither."""

    ready: bool = False
    url: str | None = None
    failure: str | None = None
    detail: str = ""


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    found = [c for c in status.get("conditions") or [] if c.get("type") == kind]
    return found[0] if found else {}


def status_is_current(resource: dict[str, Any]) -> bool:
    """The status describes the current spec (not the one before our last update)."""
    generation = resource["metadata"].get("generation")
    observed = (resource.get("status") or {}).get("observedGeneration")
    if observed is None:
        return generation in (None, 1)
    return generation is None or observed >= generation


def failure_of(status: dict[str, Any]) -> str | None:
    """Why the model cannot be served, from `status.modelStatus` (None when it is not failing)."""
    model_status = status.get("modelStatus") or {}
    active = (model_status.get("states") or {}).get("activeModelState")
    transition = model_status.get("transitionStatus")
    if transition not in FAILED_TRANSITIONS and active != "FailedToLoad":
        return None
    info = model_status.get("lastFailureInfo") or {}
    reason = info.get("message") or info.get("reason") or condition(status, "Ready").get("message")
    return str(reason or f"model status {transition or active}")


def endpoint_url(status: dict[str, Any], name: str) -> str | None:
    """The model's Open Inference Protocol URL (`…/v2/models/<name>`, infer at `<url>/infer`).

    The first HTTP URL of `status.url` (Serverless, or a ModelMesh route), the predictor's
    `restUrl` (ModelMesh: status.url is gRPC) and `status.address.url` (cluster-local).
    """
    predictor = (status.get("components") or {}).get("predictor") or {}
    candidates = [status.get("url"), predictor.get("restUrl"), (status.get("address") or {}).get(
        "url")]  # fmt: skip
    for url in candidates:
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            base = url.rstrip("/")
            return base if "/v2/models/" in base else base + model_path(name)
    return None


def resource_state(resource: dict[str, Any]) -> ResourceState:
    """Read a resource's status: failed, ready (with its URL), or still under way."""
    status = resource.get("status") or {}
    if not status_is_current(resource):
        return ResourceState(detail="status describes an older spec")
    failure = failure_of(status)
    if failure is not None:
        return ResourceState(failure=failure)
    ready = condition(status, "Ready")
    if ready.get("status") != "True":
        return ResourceState(detail=str(ready.get("message") or ready.get("reason") or "not ready"))
    url = endpoint_url(status, resource["metadata"]["name"])
    return ResourceState(ready=url is not None, url=url, detail="" if url else "ready, no URL")
