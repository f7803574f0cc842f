"""The OpenAPI document this server serves: upstream's, unchanged, plus a few additions.

The additions describe what this server really does where upstream's document is silent:

1. `info.description` names the other prefixes (`/api/model_registry/v1` serves the same
   operations; `/api/model_registry/v1alpha1` too, with InferenceService `desiredState` named
   `state`).
2. Error responses the server can return but an operation does not list, with the `Error`
   schema: 400 (bad id, parameter or body) and 404 (unknown id, or an id in the body naming
   no entity) everywhere; 409 (name/externalId taken), 413 (body over the size limit) and
   422 (missing required field) on POST and PATCH.
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

UPSTREAM = Path(__file__).resolve().parent / "spec" / "model-registry.yaml"
METHODS = ("get", "post", "patch", "put", "delete")
PREFIX_NOTE = """

This server (registry_local) also serves every operation below under
`/api/model_registry/v1` and under `/api/model_registry/v1alpha1`; on the v1alpha1 prefix an
InferenceService's `desiredState` is read and written as `state`, its name in v1alpha1."""
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
def served_document() -> dict[str, Any]:
    """Upstream's document with the additions listed in this module's docstring."""
    document = copy.deepcopy(upstream_document())
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


@cache
def served_yaml() -> bytes:
    return yaml.safe_dump(served_document(), sort_keys=False, allow_unicode=True).encode()


def _add_responses(method: str, responses: dict[str, Any]) -> None:
    wanted = ["400", "404"]
    if method in ("post", "patch"):
        wanted += ["409", "413", "422"]
    for status in wanted:
        responses.setdefault(status, {"$ref": f"#/components/responses/{ERROR_RESPONSES[status]}"})
    if method == "post" and "200" in responses and "201" not in responses:
        responses["201"] = copy.deepcopy(responses["200"])


def _pin_artifact_type(schema: dict[str, Any], artifact_type: str) -> None:
    for part in schema["allOf"]:
        properties = part.get("properties", {})
        if "artifactType" in properties:
            properties["artifactType"]["enum"] = [artifact_type]
