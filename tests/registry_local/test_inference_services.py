"""InferenceService and ServeModel, including the v1alpha1 `state` name of desiredState."""

from __future__ import annotations

import pytest

from .support import Api, Factory


def test_create_inference_service_defaults_to_deployed(api: Api, make: Factory) -> None:
    environment, model = make.environment(), make.model()
    service = make.service(environment, model, name="mnist-e2e", runtime="onnx")
    assert service["desiredState"] == "DEPLOYED"
    assert service["servingEnvironmentId"] == environment["id"]
    assert service["registeredModelId"] == model["id"]
    assert "modelVersionId" not in service


def test_create_inference_service_in_environment_path(api: Api, make: Factory) -> None:
    environment, model = make.environment(), make.model()
    version = make.version(model)
    body = {"name": "svc", "registeredModelId": model["id"], "modelVersionId": version["id"]}
    body["servingEnvironmentId"] = environment["id"]
    service = api.created(f"serving_environments/{environment['id']}/inference_services", body)
    assert service["servingEnvironmentId"] == environment["id"]
    listed = api.ok(f"serving_environments/{environment['id']}/inference_services")["items"]
    assert listed == [service]


def test_create_inference_service_missing_model_is_422(api: Api, make: Factory) -> None:
    environment = make.environment()
    body = {"servingEnvironmentId": environment["id"]}
    assert api.post("inference_services", body).status_code == 422


def test_create_inference_service_unknown_references_are_404(api: Api, make: Factory) -> None:
    environment, model = make.environment(), make.model()
    for body in (
        {"registeredModelId": "99", "servingEnvironmentId": environment["id"]},
        {"registeredModelId": model["id"], "servingEnvironmentId": model["id"]},
        {"registeredModelId": model["id"], "servingEnvironmentId": "1", "modelVersionId": "2"},
    ):
        assert api.post("inference_services", body).status_code == 404
    assert api.ok("inference_services")["items"] == []


def test_create_inference_service_version_of_other_model_is_400(api: Api, make: Factory) -> None:
    environment, model, other = make.environment(), make.model("a"), make.model("b")
    version = make.version(other)
    body = {
        "registeredModelId": model["id"],
        "servingEnvironmentId": environment["id"],
        "modelVersionId": version["id"],
    }
    assert api.post("inference_services", body).status_code == 400


def test_update_inference_service_desired_state(api: Api, make: Factory) -> None:
    service = make.service(make.environment(), make.model())
    updated = api.patch(f"inference_services/{service['id']}", {"desiredState": "UNDEPLOYED"})
    assert updated.json()["desiredState"] == "UNDEPLOYED"
    bad = api.patch(f"inference_services/{service['id']}", {"desiredState": "PAUSED"})
    assert bad.status_code == 400
    assert api.ok(f"inference_services/{service['id']}")["desiredState"] == "UNDEPLOYED"


def test_inference_service_model_and_version(api: Api, make: Factory) -> None:
    environment, model = make.environment(), make.model()
    first, latest = make.version(model, "v1"), make.version(model, "v2")
    service = make.service(environment, model)
    assert api.ok(f"inference_services/{service['id']}/model") == model
    assert api.ok(f"inference_services/{service['id']}/version") == latest
    api.patch(f"inference_services/{service['id']}", {"modelVersionId": first["id"]})
    assert api.ok(f"inference_services/{service['id']}/version") == first


def test_inference_service_version_without_versions_is_404(api: Api, make: Factory) -> None:
    service = make.service(make.environment(), make.model())
    assert api.get(f"inference_services/{service['id']}/version").status_code == 404


def test_serves_have_their_own_id_sequence(api: Api, make: Factory) -> None:
    environment, model = make.environment(), make.model()
    version = make.version(model)
    service = make.service(environment, model, modelVersionId=version["id"])
    body = {"modelVersionId": version["id"], "lastKnownState": "RUNNING"}
    serve = api.created(f"inference_services/{service['id']}/serves", body)
    assert serve["id"] == "1"
    assert serve["lastKnownState"] == "RUNNING"
    served = api.ok(f"inference_services/{service['id']}/serves")["items"]
    assert served == [serve]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"modelVersionId": "99"}, 404),
        ({"modelVersionId": "3", "lastKnownState": "ASLEEP"}, 400),
    ],
)
def test_create_serve_bad_body(api: Api, make: Factory, body: dict[str, str], status: int) -> None:
    environment, model = make.environment(), make.model()
    make.version(model)
    service = make.service(environment, model)
    assert api.post(f"inference_services/{service['id']}/serves", body).status_code == status


def test_serves_of_unknown_inference_service_is_404(api: Api, make: Factory) -> None:
    version = make.version(make.model())
    assert api.get("inference_services/7/serves").status_code == 404
    body = {"modelVersionId": version["id"]}
    assert api.post(f"inference_services/{version['id']}/serves", body).status_code == 404


def test_v1alpha1_calls_desired_state_state(api: Api, make: Factory) -> None:
    environment, model = make.environment(), make.model()
    old = api.with_prefix("/api/model_registry/v1alpha1")
    body = {"registeredModelId": model["id"], "servingEnvironmentId": environment["id"]}
    service = old.created("inference_services", {**body, "state": "UNDEPLOYED"})
    assert service["state"] == "UNDEPLOYED"
    assert "desiredState" not in service
    assert api.ok(f"inference_services/{service['id']}")["desiredState"] == "UNDEPLOYED"
    patched = old.patch(f"inference_services/{service['id']}", {"state": "DEPLOYED"}).json()
    assert patched["state"] == "DEPLOYED"


def test_v1alpha1_state_and_desired_state_together_is_400(api: Api, make: Factory) -> None:
    service = make.service(make.environment(), make.model())
    old = api.with_prefix("/api/model_registry/v1alpha1")
    body = {"state": "DEPLOYED", "desiredState": "UNDEPLOYED"}
    assert old.patch(f"inference_services/{service['id']}", body).status_code == 400


def test_v1_prefix_serves_the_same_entities(api: Api, make: Factory) -> None:
    service = make.service(make.environment(), make.model())
    current = api.with_prefix("/api/model_registry/v1")
    assert current.ok(f"inference_services/{service['id']}") == service
