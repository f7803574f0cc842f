"""ModelVersion: shared id sequence, creation under a model, uniqueness per model, finds."""

from __future__ import annotations

import pytest

from .support import Api, Factory, string_property


def test_create_model_version_shares_the_context_id_sequence(make: Factory) -> None:
    environment = make.environment()
    model = make.model()
    versions = [make.version(model, name) for name in ("v1", "v2", "v3")]
    assert [environment["id"], model["id"]] == ["1", "2"]
    assert [version["id"] for version in versions] == ["3", "4", "5"]
    assert versions[0]["registeredModelId"] == "2"
    assert versions[0]["state"] == "LIVE"


def test_create_model_version_under_registered_model_path(api: Api, make: Factory) -> None:
    model = make.model()
    other = make.model("other")
    body = {"name": "v1", "author": "me", "registeredModelId": other["id"]}
    version = api.created(f"registered_models/{model['id']}/versions", body)
    assert version["registeredModelId"] == model["id"]
    assert version["author"] == "me"


def test_create_model_version_missing_registered_model_id_is_422(api: Api) -> None:
    assert api.post("model_versions", {"name": "v1"}).status_code == 422


def test_create_model_version_missing_name_is_422(api: Api, make: Factory) -> None:
    model = make.model()
    assert api.post("model_versions", {"registeredModelId": model["id"]}).status_code == 422


def test_create_model_version_unknown_registered_model_is_404(api: Api, make: Factory) -> None:
    environment = make.environment()
    for model_id in ("77", environment["id"]):
        response = api.post("model_versions", {"name": "v1", "registeredModelId": model_id})
        assert response.status_code == 404
    assert api.ok("model_versions")["items"] == []


def test_create_model_version_under_unknown_model_path_is_404(api: Api) -> None:
    body = {"name": "v1", "registeredModelId": "5"}
    assert api.post("registered_models/5/versions", body).status_code == 404


def test_create_model_version_under_model_path_needs_registered_model_id(
    api: Api, make: Factory
) -> None:
    """Upstream validates the body against `ModelVersion`, whose registeredModelId is required."""
    model = make.model()
    response = api.post(f"registered_models/{model['id']}/versions", {"name": "v1"})
    assert response.status_code == 422
    assert response.json()["message"] == "required field 'registeredModelId' is zero value."


@pytest.mark.parametrize(
    "body",
    [
        {"name": "v1", "registeredModelId": 2},
        {"name": "v1", "registeredModelId": "two"},
        {"name": "v1", "registeredModelId": "1", "state": "DEPLOYED"},
        {"name": "v1", "registeredModelId": "1", "artifactType": "model-artifact"},
    ],
)
def test_create_model_version_bad_body_is_400(
    api: Api, make: Factory, body: dict[str, object]
) -> None:
    make.model()
    assert api.post("model_versions", body).status_code == 400


def test_create_model_version_name_unique_per_model(api: Api, make: Factory) -> None:
    first, second = make.model("a"), make.model("b")
    make.version(first, "v1")
    make.version(second, "v1")
    response = api.post("model_versions", {"name": "v1", "registeredModelId": first["id"]})
    assert response.status_code == 409
    assert len(api.ok("model_versions")["items"]) == 2


def test_update_model_version_state_author_and_properties(api: Api, make: Factory) -> None:
    version = make.version(make.model(), customProperties={"a": string_property("x")})
    body = {"state": "ARCHIVED", "author": "you", "customProperties": {}}
    updated = api.patch(f"model_versions/{version['id']}", body).json()
    assert (updated["state"], updated["author"], updated["customProperties"]) == (
        "ARCHIVED",
        "you",
        {},
    )


def test_update_model_version_registered_model_is_400(api: Api, make: Factory) -> None:
    version = make.version(make.model())
    body = {"registeredModelId": version["registeredModelId"]}
    assert api.patch(f"model_versions/{version['id']}", body).status_code == 400


def test_list_registered_model_versions_only_its_own(api: Api, make: Factory) -> None:
    first, second = make.model("a"), make.model("b")
    mine = [make.version(first, "v1"), make.version(first, "v2")]
    make.version(second, "v1")
    assert api.ok(f"registered_models/{first['id']}/versions")["items"] == mine
    listed = api.ok(f"registered_models/{first['id']}/versions", name="v2")["items"]
    assert listed == [mine[1]]


def test_list_versions_of_unknown_model_is_404(api: Api) -> None:
    assert api.get("registered_models/3/versions").status_code == 404


def test_find_model_version_by_name_and_parent(api: Api, make: Factory) -> None:
    first, second = make.model("a"), make.model("b")
    make.version(first, "v1")
    theirs = make.version(second, "v1")
    found = api.ok("model_version", name="v1", parentResourceId=second["id"])
    assert found == theirs


def test_find_model_version_several_matches_is_404(api: Api, make: Factory) -> None:
    make.version(make.model("a"), "v1")
    make.version(make.model("b"), "v1")
    assert api.get("model_version", name="v1").status_code == 404


def test_find_model_version_bad_parent_id_is_400(api: Api) -> None:
    assert api.get("model_version", name="v1", parentResourceId="x").status_code == 400
