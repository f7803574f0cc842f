"""The OpenAPI document this server serves: upstream's, unchanged, plus a few additions.

Each API prefix serves its own copy at `{prefix}/openapi.yaml`: its paths carry that prefix,
and on v1alpha1 the fields its dialect renames carry their v1alpha1 names (InferenceService
`state` for `desiredState`), so every document describes exactly what its prefix accepts.
The additions describe what this server really does where upstream's document is silent:

1. `info.description` names the other prefixes (`/api/model_registry/v1` serves the same
   operations; `/api/model_registry/v1alpha1` too, with InferenceService `desiredState` named
   `state`).
2. Error responses the server can return but an operation does not list, with the `Error`
   schema: 400 (bad id, parameter or body) and 404 (unknown id, or an id in the body naming
   no entity) everywhere; 409 (name/externalId taken) and 413 (body over the size limit) on
   POST and PATCH; 422 (required field absent, null or empty) on POST. As upstream's, an
   error's `code` is the HTTP status text (`Bad Request`, ...), 422's included (see
   docs/conformance.md).
3. `POST /inference_services` also lists 201, which it returns like every other create.
4. Each concrete artifact schema pins its `artifactType` with an `enum`, so plain JSON Schema
   validators (which ignore `discriminator`) can tell the `Artifact` oneOf branches apart.
"""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from registry_local.http_api import DIALECTS, Dialect

UPSTREAM = Path(__file__).resolve().parent / "spec" / "model-registry.yaml"
METHODS = ("get", "post", "patch", "put", "delete")
UPSTREAM_PREFIX = "/api/model_registry/v1alpha3"
PREFIX_NOTE = """

This server (registry_local) serves the same operations under `/api/model_registry/v1alpha3`,
`/api/model_registry/v1` and `/api/model_registry/v1alpha1`; on the v1alpha1 prefix an
InferenceService's `desiredState` is read and written as `state`, its name in v1alpha1. Each
prefix serves its own `openapi.yaml`, describing the paths and field names of that prefix.
Errors are `{"code", "message"}` as upstream's: `code` is the HTTP status text, and a
required field that is absent, null or empty on a create is 422 with the code `Bad Request`."""
ARTIFACT_SCHEMAS = {
    "ModelArtifact": "model-artifact",
    "DocArtifact": "doc-artifact",
    "DataSet": "dataset-artifact",
    "Metric": "metric",
    "Parameter": "parameter",
}
ERROR_RESPONSES = {
    "400": "BadRequest",
    "404": "NotFound",
    "409": "Conflict",
    "413": "PayloadTooLarge",
    "422": "UnprocessableEntity",
}


def upstream_document() -> dict[str, Any]:
    with UPSTREAM.open() as handle:
        document: dict[str, Any] = yaml.safe_load(handle)
    return document


@cache
def served_document(version: str = "v1alpha3") -> dict[str, Any]:
    """The document served under `/api/model_registry/{version}` (a key of DIALECTS)."""
    document = _with_additions(upstream_document())
    _move_paths(document, f"/api/model_registry/{version}")
    _rename_fields(document, DIALECTS[version])
    return document


@cache
def served_yaml(version: str = "v1alpha3") -> bytes:
    document = served_document(version)
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True).encode()


def _with_additions(upstream: dict[str, Any]) -> dict[str, Any]:
    """Upstream's document with the additions listed in this module's docstring."""
    document = copy.deepcopy(upstream)
    document["info"]["description"] += PREFIX_NOTE
    document["components"]["responses"]["PayloadTooLarge"] = {
        "description": "The request body is larger than the server accepts",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for path_item in document["paths"].values():
        for method in METHODS:
            if method in path_item:
                _add_responses(method, path_item[method]["responses"])
    for schema, artifact_type in ARTIFACT_SCHEMAS.items():
        _pin_artifact_type(document["components"]["schemas"][schema], artifact_type)
    return document


def _move_paths(document: dict[str, Any], prefix: str) -> None:
    """Serve every path under `prefix`; link descriptions name the moved paths too."""
    paths = document["paths"].items()
    document["paths"] = {prefix + path.removeprefix(UPSTREAM_PREFIX): item for path, item in paths}
    for link in document["components"]["links"].values():
        link["description"] = link["description"].replace(UPSTREAM_PREFIX, prefix)


def _rename_fields(document: dict[str, Any], dialect: Dialect) -> None:
    """Request and response schemas of a renamed kind use the dialect's field names."""
    schemas = document["components"]["schemas"]
    for kind_name, renames in dialect.renames.items():
        incoming = {new: old for old, new in renames.items()}  # upstream name -> dialect name
        for schema_name in (kind_name, f"{kind_name}Create", f"{kind_name}Update"):
            for part in [schemas[schema_name], *schemas[schema_name].get("allOf", [])]:
                _rename_properties(part, incoming)


def _rename_properties(schema: dict[str, Any], renames: dict[str, str]) -> None:
    if "properties" in schema:
        properties = schema["properties"].items()
        schema["properties"] = {renames.get(key, key): value for key, value in properties}
    if "required" in schema:
        schema["required"] = [renames.get(key, key) for key in schema["required"]]


def _add_responses(method: str, responses: dict[str, Any]) -> None:
    wanted = ["400", "404"]
    if method in ("post", "patch"):
        wanted += ["409", "413"]
    if method == "post":
        wanted.append("422")
    for status in wanted:
        responses.setdefault(status, {"$ref": f"#/components/responses/{ERROR_RESPONSES[status]}"})
    if method == "post" and "200" in responses and "201" not in responses:
        responses["201"] = copy.deepcopy(responses["200"])


def _pin_artifact_type(schema: dict[str, Any], artifact_type: str) -> None:
    for part in schema["allOf"]:
        properties = part.get("properties", {})
        if "artifactType" in properties:
            properties["artifactType"]["enum"] = [artifact_type]
