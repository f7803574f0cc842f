"""The served OpenAPI documents are upstream's, with only the documented additions, one per
prefix: its paths under that prefix, its field names those of that prefix's dialect."""

from __future__ import annotations

import pytest
import yaml
from starlette.testclient import TestClient

from registry_local.openapi import UPSTREAM_PREFIX, served_document, upstream_document


def test_served_openapi_document_is_upstreams_plus_additions(client: TestClient) -> None:
    response = client.get("/api/model_registry/v1alpha3/openapi.yaml")
    assert response.status_code == 200
    served = yaml.safe_load(response.text)
    upstream = upstream_document()
    assert served["paths"].keys() == upstream["paths"].keys()
    assert served["info"]["version"] == upstream["info"]["version"]
    assert served["components"]["schemas"].keys() == upstream["components"]["schemas"].keys()
    assert "/api/model_registry/v1alpha1" in served["info"]["description"]
    for path, item in upstream["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                served_responses = served["paths"][path][method]["responses"]
                for status, upstream_response in operation["responses"].items():
                    assert served_responses[status] == upstream_response


def test_served_openapi_document_lists_201_for_every_create() -> None:
    for item in served_document()["paths"].values():
        if "post" in item:
            assert "201" in item["post"]["responses"]


def test_served_openapi_document_pins_artifact_types() -> None:
    schema = served_document()["components"]["schemas"]["DocArtifact"]
    pinned = [
        part["properties"]["artifactType"] for part in schema["allOf"] if "properties" in part
    ]
    assert pinned == [{"type": "string", "default": "doc-artifact", "enum": ["doc-artifact"]}]


def test_openapi_document_of_unknown_version_is_404(client: TestClient) -> None:
    assert client.get("/api/model_registry/v9/openapi.yaml").status_code == 404


@pytest.mark.parametrize("version", ["v1alpha3", "v1", "v1alpha1"])
def test_each_prefix_serves_a_document_of_its_own_paths(client: TestClient, version: str) -> None:
    prefix = f"/api/model_registry/{version}"
    response = client.get(f"{prefix}/openapi.yaml")
    assert response.status_code == 200
    served = yaml.safe_load(response.text)
    assert served == served_document(version)
    upstream_paths = [path.removeprefix(UPSTREAM_PREFIX) for path in upstream_document()["paths"]]
    assert list(served["paths"]) == [prefix + path for path in upstream_paths]


def inference_service_fields(version: str) -> set[str]:
    schemas = served_document(version)["components"]["schemas"]
    return {
        name
        for schema in ("InferenceService", "InferenceServiceCreate", "InferenceServiceUpdate")
        for part in [schemas[schema], *schemas[schema].get("allOf", [])]
        for name in part.get("properties", {})
    }


def test_v1alpha1_document_names_desired_state_state() -> None:
    assert "desiredState" in inference_service_fields("v1alpha3")
    assert "state" not in inference_service_fields("v1alpha3")
    assert "state" in inference_service_fields("v1alpha1")
    assert "desiredState" not in inference_service_fields("v1alpha1")
    assert inference_service_fields("v1") == inference_service_fields("v1alpha3")
