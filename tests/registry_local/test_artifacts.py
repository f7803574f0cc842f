"""Artifacts: polymorphic types, their own id sequence, upserts into model versions."""

from __future__ import annotations

import pytest

from .support import Api, Factory

ONE_OF_EACH = [
    {"artifactType": "model-artifact", "name": "m", "uri": "s3://b/m", "modelFormatName": "onnx"},
    {"artifactType": "doc-artifact", "name": "d", "uri": "https://docs"},
    {"artifactType": "dataset-artifact", "name": "s", "digest": "sha", "schema": "{}"},
    {"artifactType": "metric", "name": "accuracy", "value": 0.9, "step": 3, "timestamp": "1"},
    {"artifactType": "parameter", "name": "lr", "value": "0.01", "parameterType": "number"},
]


def test_create_artifacts_of_every_type(api: Api) -> None:
    for number, body in enumerate(ONE_OF_EACH, start=1):
        artifact = api.created("artifacts", body)
        assert artifact["id"] == str(number)
        assert {key: artifact[key] for key in body} == body
        assert api.ok(f"artifacts/{artifact['id']}") == artifact


def test_list_artifacts_by_type(api: Api) -> None:
    for body in ONE_OF_EACH:
        api.created("artifacts", body)
    assert len(api.ok("artifacts")["items"]) == 5
    metrics = api.ok("artifacts", artifactType="metric")["items"]
    assert [item["name"] for item in metrics] == ["accuracy"]
    assert [item["name"] for item in api.ok("model_artifacts")["items"]] == ["m"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "no type"},
        {"artifactType": "picture", "name": "p"},
        {"artifactType": "metric", "value": "high"},
        {"artifactType": "metric", "step": 1.5},
        {"artifactType": "metric", "step": True},
        {"artifactType": "parameter", "parameterType": "list"},
        {"artifactType": "doc-artifact", "modelFormatName": "onnx"},
        {"artifactType": "model-artifact", "state": "FINE"},
    ],
)
def test_create_artifact_bad_body_is_400(api: Api, body: dict[str, object]) -> None:
    assert api.post("artifacts", body).status_code == 400
    assert api.ok("artifacts")["items"] == []


def test_list_artifacts_bad_type_is_400(api: Api) -> None:
    assert api.get("artifacts", artifactType="picture").status_code == 400


def test_create_model_artifact_ids_are_separate_from_contexts(make: Factory) -> None:
    version = make.version(make.model())
    assert version["id"] == "2"
    assert make.artifact(version)["id"] == "1"


def test_create_model_artifact_wrong_type_is_400(api: Api) -> None:
    assert api.post("model_artifacts", {"artifactType": "doc-artifact"}).status_code == 400


def test_upsert_model_version_artifact_creates_then_links(api: Api, make: Factory) -> None:
    model = make.model()
    first, second = make.version(model, "v1"), make.version(model, "v2")
    artifact = make.artifact(first, name="onnx")
    body = {"artifactType": "model-artifact", "id": artifact["id"], "uri": "s3://b/new"}
    response = api.post(f"model_versions/{second['id']}/artifacts", body)
    assert response.status_code == 200
    assert response.json()["uri"] == "s3://b/new"
    for version in (first, second):
        items = api.ok(f"model_versions/{version['id']}/artifacts")["items"]
        assert [item["id"] for item in items] == [artifact["id"]]


def test_upsert_model_version_artifact_same_name_is_409(api: Api, make: Factory) -> None:
    model = make.model()
    version = make.version(model)
    make.artifact(version, name="onnx")
    make.artifact(make.version(model, "v2"), name="onnx")
    make.artifact(version, name="onnx", artifactType="doc-artifact")
    body = {"artifactType": "model-artifact", "name": "onnx"}
    assert api.post(f"model_versions/{version['id']}/artifacts", body).status_code == 409


def test_upsert_model_version_artifact_unknown_version_is_404(api: Api, make: Factory) -> None:
    model = make.model()
    body = {"artifactType": "model-artifact", "name": "x"}
    assert api.post(f"model_versions/{model['id']}/artifacts", body).status_code == 404
    assert api.ok("artifacts")["items"] == []


def test_upsert_model_version_artifact_unknown_artifact_id_is_400(api: Api, make: Factory) -> None:
    """Upstream: `mismatched types, artifact with id 9 is not a model artifact` (400)."""
    version = make.version(make.model())
    body = {"artifactType": "model-artifact", "id": "9"}
    assert api.post(f"model_versions/{version['id']}/artifacts", body).status_code == 400
    assert api.ok("artifacts")["items"] == []


def test_list_model_version_artifacts_by_type(api: Api, make: Factory) -> None:
    version = make.version(make.model())
    model_artifact = make.artifact(version)
    make.artifact(version, artifactType="doc-artifact", name="readme")
    items = api.ok(f"model_versions/{version['id']}/artifacts", artifactType="model-artifact")
    assert items["items"] == [model_artifact]


def test_update_artifact_keeps_type_specific_fields(api: Api, make: Factory) -> None:
    artifact = make.artifact(make.version(make.model()), modelFormatName="onnx")
    body = {"artifactType": "model-artifact", "state": "LIVE"}
    updated = api.patch(f"artifacts/{artifact['id']}", body).json()
    assert (updated["state"], updated["modelFormatName"]) == ("LIVE", "onnx")
    updated = api.patch(f"model_artifacts/{artifact['id']}", {"storagePath": "MNIST/v1"}).json()
    assert updated["storagePath"] == "MNIST/v1"


def test_update_artifact_other_type_is_400(api: Api, make: Factory) -> None:
    artifact = make.artifact(make.version(make.model()))
    body = {"artifactType": "doc-artifact", "uri": "x"}
    assert api.patch(f"artifacts/{artifact['id']}", body).status_code == 400
    assert api.patch(f"artifacts/{artifact['id']}", {"name": "renamed"}).status_code == 400


def test_update_model_artifact_of_other_type_is_404(api: Api) -> None:
    doc = api.created("artifacts", {"artifactType": "doc-artifact", "name": "d"})
    assert api.patch(f"model_artifacts/{doc['id']}", {"uri": "x"}).status_code == 404


def test_find_model_artifact_by_name_in_version(api: Api, make: Factory) -> None:
    model = make.model()
    make.artifact(make.version(model, "v1"), name="MNIST")
    wanted = make.artifact(make.version(model, "v2"), name="MNIST")
    assert api.ok("model_artifact", name="MNIST", parentResourceId="3") == wanted
    assert api.get("model_artifact", name="MNIST").status_code == 404
