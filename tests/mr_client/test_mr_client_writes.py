"""The typed client's writes against a real registry_local, with the refusals beside them."""

from __future__ import annotations

import pytest

from mr_client import InferenceService, Refused, RegistryClient
from tests.mr_client.conftest import Seeder


def deployed_service(registry: RegistryClient, seed: Seeder) -> tuple[InferenceService, str]:
    """A new InferenceService `svc` (seed's POST) in environment `local`, and its version id."""
    model = seed.model()
    version = seed.version(model, "v1")
    environment = registry.ensure_serving_environment("local")
    service = registry.create_inference_service(
        environment.id, "svc", model["id"], version["id"], "mmserver1"
    )
    return service, version["id"]


def test_ensure_serving_environment_creates_once(registry: RegistryClient) -> None:
    created = registry.ensure_serving_environment("local")
    again = registry.ensure_serving_environment("local")
    assert again == created
    assert registry.find_serving_environment("local") == created
    assert [e.name for e in registry.serving_environments()] == ["local"]


def test_find_serving_environment_missing_is_none(registry: RegistryClient) -> None:
    assert registry.find_serving_environment("local") is None


def test_seed_deploy_then_undeploy(registry: RegistryClient, seed: Seeder) -> None:
    model = seed.model()
    version = seed.version(model, "v1")
    environment = registry.ensure_serving_environment("local")
    service = registry.create_inference_service(
        environment.id, "mnist-e2e", model["id"], version["id"], "mmserver1"
    )
    assert (service.name, service.desired_state, service.model_version_id) == (
        "mnist-e2e", "DEPLOYED", version["id"])  # fmt: skip
    registry.set_desired_state(service.id, None, "mmserver1", "UNDEPLOYED")
    [listed] = registry.inference_services(environment.id)
    assert (listed.id, listed.desired_state) == (service.id, "UNDEPLOYED")
    assert registry.find_inference_service("mnist-e2e") == listed
    assert registry.all_inference_services() == [listed]


def test_set_desired_state_refused_keeps_service(registry: RegistryClient, seed: Seeder) -> None:
    service, _ = deployed_service(registry, seed)
    with pytest.raises(Refused, match=f"set inference service {service.id} to SIDEWAYS") as caught:
        registry.set_desired_state(service.id, None, "mmserver1", "SIDEWAYS")
    assert caught.value.status == 400
    assert caught.value.message
    assert registry.inference_services(service.serving_environment_id) == [service]


def test_service_property_keeps_the_others(registry: RegistryClient, seed: Seeder) -> None:
    service, _ = deployed_service(registry, seed)
    registry.set_service_property(service, "owner", "team-a")
    [with_owner] = registry.inference_services(service.serving_environment_id)
    registry.set_service_property(with_owner, "url", "http://127.0.0.1:8008/v2/models/svc")
    [updated] = registry.inference_services(service.serving_environment_id)
    assert updated.properties == {"owner": "team-a", "url": "http://127.0.0.1:8008/v2/models/svc"}


def test_serve_records_newest_first(registry: RegistryClient, seed: Seeder) -> None:
    service, version_id = deployed_service(registry, seed)
    assert registry.latest_serve(service.id) is None
    registry.create_serve(service.id, version_id, "RUNNING")
    registry.create_serve(service.id, version_id, "FAILED", "bad sha256")
    latest = registry.latest_serve(service.id)
    assert latest is not None
    assert (latest.last_known_state, latest.description) == ("FAILED", "bad sha256")
    assert latest.properties == {"reason": "bad sha256"}
    states = [serve.last_known_state for serve in registry.serve_models(service.id)]
    assert states == ["FAILED", "RUNNING"]


def test_update_version_state_and_bad_state(registry: RegistryClient, seed: Seeder) -> None:
    version = seed.version(seed.model(), "v1")
    assert registry.update_model_version(version["id"], {"state": "ARCHIVED"}).state == "ARCHIVED"
    with pytest.raises(Refused, match=r"update model version .* \(HTTP 400: "):
        registry.update_model_version(version["id"], {"state": "GONE"})
    assert registry.model_version(version["id"]).state == "ARCHIVED"


def test_artifact_properties_merge(registry: RegistryClient, seed: Seeder) -> None:
    version = seed.version(seed.model(), "v1")
    seed.artifact(version, "model", customProperties={
        "sha256": {"metadataType": "MetadataStringValue", "string_value": "cafe"}})  # fmt: skip
    artifact = registry.newest_model_artifact(version["id"])
    assert artifact is not None
    registry.update_artifact_properties(artifact, bytes_deleted=True, size_bytes=3)
    stored = registry.newest_model_artifact(version["id"])
    assert stored is not None
    assert stored.properties == {"sha256": "cafe", "bytes_deleted": True, "size_bytes": 3}


def test_update_registered_model_readme(registry: RegistryClient, seed: Seeder) -> None:
    model = seed.model()
    registry.update_registered_model(model["id"], {"readme": "card"})
    assert registry.registered_model(model["id"]).readme == "card"
