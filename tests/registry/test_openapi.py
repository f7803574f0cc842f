"""The served OpenAPI document is upstream's, with only the documented additions."""

from __future__ import annotations

import yaml
from starlette.testclient import TestClient

from registry_local.openapi import served_document, upstream_document


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
