"""What is deployed, as the registry tells it: InferenceServices with their version and endpoint.

The app never hard-codes an endpoint. It asks the registry for the InferenceServices of its
ServingEnvironment, and reads each one's desired state, the model version it serves, the
state the controller last observed (its newest ServeModel) and the endpoint the controller
wrote into the `url` customProperty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.errors import NothingDeployed, ServingEnvironmentMissing
from app.registry_client import RegistryClient
from mr_client import InferenceService, ModelVersion
from serving.names import BadModelName, model_path

DEPLOYED = "DEPLOYED"
UNDEPLOYED = "UNDEPLOYED"
ENDPOINT_PROPERTY = "url"


@dataclass(frozen=True)
class Deployment:
    """One InferenceService of the serving environment, joined with what it serves."""

    service_id: str
    service_name: str
    model_id: str
    model_name: str
    version_id: str | None
    version_name: str
    runtime: str
    desired_state: str
    observed_state: str | None
    """lastKnownState of the newest ServeModel: RUNNING, COMPLETE (stopped) or FAILED."""
    observed_version_id: str | None
    observed_reason: str
    endpoint: str | None

    @property
    def label(self) -> str:
        """How the pages name it: model, version and InferenceService."""
        return f"{self.model_name} {self.version_name} · {self.service_name}"

    @property
    def infer_url(self) -> str | None:
        """The Open Inference Protocol infer URL of the endpoint; None without an endpoint, or
        for a name no model can have (no URL is built from it: `serving.names`)."""
        if not self.endpoint:
            return None
        try:
            return infer_url(self.endpoint, self.service_name)
        except BadModelName:
            return None

    @property
    def status(self) -> str:
        """desired vs observed in a word: serving, deploying, failed, undeploying, undeployed."""
        same_version = self.version_id is None or self.observed_version_id == self.version_id
        return deployment_status(
            self.desired_state, self.observed_state, self.endpoint, same_version
        )


def infer_url(endpoint: str, service_name: str) -> str:
    """`.../v2/models/<name>/infer` from an endpoint given as server, model or infer URL
    (BadModelName for a name the inference server refuses)."""
    base = endpoint.rstrip("/")
    if base.endswith("/infer"):
        return base
    if "/v2/models/" in base:
        return f"{base}/infer"
    return base + model_path(service_name, "infer")


def deployment_status(
    desired: str, observed: str | None, endpoint: str | None, same_version: bool = True
) -> str:
    """Compare what the registry wants with what the controller last reported.

    The controller's ServeModel states: RUNNING (serving that version), COMPLETE (stopped
    serving it) and FAILED (could not serve it).
    """
    if desired == DEPLOYED:
        if observed == "FAILED" and same_version:
            return "failed"
        running = observed == "RUNNING" and same_version and endpoint is not None
        return "serving" if running else "deploying"
    return "undeploying" if observed == "RUNNING" else "undeployed"


def find_environment_id(registry: RegistryClient, environment: str) -> str:
    """The id of the ServingEnvironment; ServingEnvironmentMissing when it does not exist."""
    found = registry.find_serving_environment(environment)
    if found is None:
        raise ServingEnvironmentMissing(environment)
    return found.id


def list_deployments(registry: RegistryClient, environment: str) -> list[Deployment]:
    """Every InferenceService of the environment (any desired state), oldest first."""
    services = registry.inference_services(find_environment_id(registry, environment))
    names = _NameCache(registry)
    return [_deployment(registry, names, service) for service in services]


def deployed(registry: RegistryClient, environment: str) -> list[Deployment]:
    """The InferenceServices whose desired state is DEPLOYED; NothingDeployed when none is."""
    found = [d for d in list_deployments(registry, environment) if d.desired_state == DEPLOYED]
    if not found:
        raise NothingDeployed(environment)
    return found


def _deployment(
    registry: RegistryClient, names: _NameCache, service: InferenceService
) -> Deployment:
    version_id = service.model_version_id
    newest = next(iter(registry.serve_models(service.id)), None)
    return Deployment(
        service_id=service.id,
        service_name=service.name or f"inference service {service.id}",
        model_id=service.registered_model_id,
        model_name=names.model(service.registered_model_id),
        version_id=version_id,
        version_name=names.version(version_id) if version_id else "latest",
        runtime=service.runtime or "",
        desired_state=service.desired_state,
        observed_state=(newest.last_known_state or None) if newest else None,
        observed_version_id=(newest.model_version_id or None) if newest else None,
        observed_reason=newest.description if newest else "",
        endpoint=service.property_text(ENDPOINT_PROPERTY),
    )


class _NameCache:
    """Names of registered models and versions, each read from the registry once."""

    def __init__(self, registry: RegistryClient) -> None:
        self._registry = registry
        self._models: dict[str, str] = {}
        self._versions: dict[str, str] = {}

    def model(self, model_id: str) -> str:
        if model_id not in self._models:
            self._models[model_id] = self._registry.registered_model(model_id).name
        return self._models[model_id]

    def version(self, version_id: str) -> str:
        if version_id not in self._versions:
            self._versions[version_id] = self._registry.model_version(version_id).name
        return self._versions[version_id]


def service_name_for(model_name: str, version_name: str) -> str:
    """A DNS-label name for a new InferenceService: `mnist-v2` for MNIST v2."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{model_name}-{version_name}".lower()).strip("-")
    return slug[:63].rstrip("-") or "model"


def services_deploying(deployments: list[Deployment], version_id: str) -> list[str]:
    """Names of the InferenceServices already desired DEPLOYED with this version."""
    return [
        d.service_name
        for d in deployments
        if d.version_id == version_id and d.desired_state == DEPLOYED
    ]


def deploy_version(
    registry: RegistryClient,
    environment: str,
    runtime: str,
    version: ModelVersion,
    model_name: str,
) -> str:
    """Mark `version` DEPLOYED: PATCH its InferenceService if it has one, else POST a new one.

    Returns a sentence saying what was done; the controller does the actual deploying.
    """
    environment_id = find_environment_id(registry, environment)
    for service in registry.inference_services(environment_id):
        if service.model_version_id == version.id:
            registry.set_desired_state(service.id, version.id, runtime, DEPLOYED)
            return f"InferenceService {service.name} is now desired DEPLOYED."
    name = service_name_for(model_name, version.name)
    registry.create_inference_service(
        environment_id, name, version.registered_model_id, version.id, runtime
    )
    return f"Created InferenceService {name}, desired DEPLOYED."


def set_desired_state(registry: RegistryClient, deployment: Deployment, state: str) -> str:
    """PATCH an InferenceService's desired state, exactly as the seed's curl did."""
    registry.set_desired_state(
        deployment.service_id, deployment.version_id, deployment.runtime, state
    )
    return f"InferenceService {deployment.service_name} is now desired {state}."
