"""The REST cases of the conformance table: one request each, good and bad input side by side.

Every case names the status upstream's Go server answers (sources in docs/conformance.md),
and, where upstream's own tests pin it, the exact message. A case whose answer differs from
upstream on purpose names its entry in DIFFERENCES. The seeded state (SEED) gives fixed ids:
serving environment 1, RegisteredModel `MNIST` 2, ModelVersion `v1` 3 with model artifact 1,
InferenceService 4 with ServeModel 1, Experiment 5, ExperimentRun 6 with metric `loss`
(artifact 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

NAME_255 = "n" * 255
MIB = 1024 * 1024
MODEL_ARTIFACT = {"artifactType": "model-artifact", "uri": "s3://models/MNIST/v2/model.onnx"}
REQUIRED_NAME = "required field 'name' is zero value."

SEED: list[tuple[str, dict[str, Any]]] = [
    ("/serving_environments", {"name": "local"}),
    ("/registered_models", {"name": "MNIST"}),
    ("/model_versions", {"name": "v1", "registeredModelId": "2"}),
    ("/model_versions/3/artifacts", {**MODEL_ARTIFACT, "name": "model"}),
    ("/inference_services", {"name": "mnist", "registeredModelId": "2",
                             "servingEnvironmentId": "1", "modelVersionId": "3"}),
    ("/inference_services/4/serves", {"modelVersionId": "3"}),
    ("/experiments", {"name": "mnist-training"}),
    ("/experiment_runs", {"experimentId": "5", "name": "run-1"}),
    ("/experiment_runs/6/artifacts", {"artifactType": "metric", "name": "loss", "value": 0.5}),
]  # fmt: skip

DIFFERENCES = {
    "name-limit": "Upstream does not check name lengths: its database refuses a name over its "
    "255-character column (owned entities store `<parent id>:<name>`) and the server answers "
    "500. registry_local applies the same limit and answers 400 with the limit and the reason.",
    "reference-check": "Upstream checks that an ExperimentRun's experiment and an "
    "InferenceService's serving environment exist (404), but stores a ModelVersion or an "
    "InferenceService whose registeredModelId names nothing (201); registry_local answers 404 "
    "and stores nothing, so no version points at a model that does not exist.",
    "parent-check": "Upstream lists a RegisteredModel's versions without checking that the "
    "model exists (200 with no items); registry_local answers 404, as the OpenAPI document "
    "lists, so a mistyped id is not mistaken for a model without versions.",
    "router": "Upstream's router (chi) answers an unknown path or method with its own plain "
    "`404 page not found` / an empty 405; registry_local keeps the one `{code, message}` shape.",
    "body-limit": "Upstream reads bodies of any size; registry_local refuses bodies over "
    "`--max-body-bytes` (default 4 MiB) with 413, so one request cannot exhaust its memory.",
    "list-order": "Upstream does not check `orderBy` and `sortOrder`: a value outside the enum "
    "silently falls back to its default order (200; kubeflow/hub `scopes.PaginateWithOptions`). "
    "registry_local answers 400 naming the allowed values, so a typo does not silently give "
    "another order.",
    "token-scope": "Upstream's nextPageToken is a bare `<id>:<value>` cursor: a token issued for "
    "another list is applied to this one as a cursor (200; kubeflow/hub `scopes.DecodeCursor`). "
    "registry_local's tokens name their list and it answers 400, so a mixed-up token does not "
    "silently skip items.",
    "upsert-status": "Upstream answers an upsert into a version or run with 201 only for a "
    "ModelArtifact or DocArtifact without an id; a Metric, Parameter or DataSet it creates is "
    "200 (`UpsertExperimentRunArtifact`, `UpsertModelVersionArtifact`). registry_local answers "
    "201 for every artifact the upsert creates and 200 when it updates or links one.",
    "uri-format": "The OpenAPI document gives a RegisteredModel's `logo` and `licenseLink` "
    "`format: uri`; upstream stores any string there, and its later answers then break its own "
    "document. registry_local answers 400 for a value that is not an absolute URI (RFC 3986), "
    "so every answer it gives stays valid against the document it serves.",
    "empty-name": "The document lets a create of an artifact, ExperimentRun, InferenceService "
    'or ServeModel send an optional `name` of `""`, and upstream stores it (an artifact '
    "gets a UUID only when the name is absent), but the document's entity schemas give `name` "
    "`minLength: 1`, so upstream's later answers break its own document. registry_local "
    "answers 400; leave the name out instead.",
}


@dataclass(frozen=True)
class Refusal:
    """A request the OpenAPI document allows that registry_local answers with 400, and why."""

    message: str  # a regular expression over the whole error message
    reason: str

    def matches(self, status: int, message: str) -> bool:
        return status == 400 and re.fullmatch(self.message, message, re.DOTALL) is not None


SCHEMA_VALID_REFUSALS = {
    "find-without-parameters": Refusal(
        r"give at least one of .*",
        "a find (`GET /registered_model`, ...) with none of its optional parameters names no "
        "entity; upstream refuses it too (`invalid parameters call, supply either name or "
        "externalId`, 400).",
    ),
    "filter-syntax": Refusal(
        r"invalid filterQuery: .*",
        "a `filterQuery` the filter grammar cannot parse, or naming a property the listed "
        "entities lack (the document types it as any string); upstream's parser refuses those "
        "too (400).",
    ),
    "foreign-page-token": Refusal(
        r"(invalid nextPageToken|nextPageToken was issued for another)\b.*",
        "a `nextPageToken` this server did not issue for this list (difference `token-scope`).",
    ),
    "unknown-field": Refusal(
        r'json: unknown field ".*"',
        "a body field the schema does not name (the document does not forbid extra fields); "
        "upstream decodes bodies with `DisallowUnknownFields` and answers this message.",
    ),
    "id-syntax": Refusal(
        r".* must be a 32-bit decimal integer string, got .*",
        "an id (in the path, a parameter or a body; the document types body ids as any string) "
        "that Go's `strconv.ParseInt(id, 10, 32)` refuses, as upstream's "
        "`apiutils.ValidateIDAsInt32` does (400).",
    ),
    "int64-syntax": Refusal(
        r".* must be an integer in a string, got .*",
        'a `...TimeSinceEpoch` string that is not a 64-bit integer (`""` included); upstream '
        "parses it with `strconv.ParseInt(t, 10, 64)` and answers 400.",
    ),
    "end-before-start": Refusal(
        r"endTimeSinceEpoch \(.*\) cannot be less than startTimeSinceEpoch .*",
        "an ExperimentRun that would end before it starts, upstream's rule.",
    ),
    "metric-value": Refusal(
        "metric value is required",
        "a Metric posted without a `value`, which upstream refuses too.",
    ),
    "type-mismatch": Refusal(
        r"artifactType .* does not match .*",
        "an `artifactType` other than the one of the artifact a PATCH or an upsert names (an "
        "artifact's type never changes), as upstream.",
    ),
    "empty-name": Refusal(
        "name must not be empty: .*",
        'an optional `name` of `""` on a create, which the document\'s answers could not '
        "carry (difference `empty-name`).",
    ),
    "name-limit": Refusal(
        r"name has [0-9]+ characters, more than .*|(name|externalId) must have at most 255 .*",
        "a name longer than its column holds (difference `name-limit`; upstream answers 500).",
    ),
}


class TokenFrom:
    """A nextPageToken issued by `GET {path}?pageSize=1`, fetched when the case runs."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __repr__(self) -> str:
        return f"a token issued for {self.path}"


@dataclass(frozen=True)
class Case:
    """One request (`METHOD /path` below the API prefix) and the status it must get."""

    request: str
    given: str
    status: int
    body: Any = None  # JSON-able, or bytes sent as they are
    params: dict[str, Any] = field(default_factory=dict)
    message: str | None = None  # upstream's exact message, where its tests pin it
    differs: str | None = None  # key of DIFFERENCES
    upstream_status: int | None = None  # when `differs`: what upstream answers instead

    @property
    def upstream(self) -> int:
        return self.status if self.upstream_status is None else self.upstream_status


def good(request: str, given: str, status: int = 200, **kwargs: Any) -> Case:
    return Case(request, given, status, **kwargs)


def bad(request: str, given: str, status: int, **kwargs: Any) -> Case:
    return Case(request, given, status, **kwargs)


REGISTERED_MODELS = [
    good("POST /registered_models", "name, description", 201,
         body={"name": "CNN", "description": "convolutional"}),
    good("POST /registered_models", "name of 255 characters", 201, body={"name": NAME_255}),
    good("POST /registered_models", "description and readme of 1 MiB each", 201,
         body={"name": "documented", "description": "d" * MIB, "readme": "# r\n" * (MIB // 4)}),
    bad("POST /registered_models", "missing required name", 422, body={}, message=REQUIRED_NAME),
    bad("POST /registered_models", "empty name", 422, body={"name": ""}, message=REQUIRED_NAME),
    bad("POST /registered_models", "null name", 422, body={"name": None}, message=REQUIRED_NAME),
    bad("POST /registered_models", "name of the wrong type", 400, body={"name": 5}),
    bad("POST /registered_models", "unknown field", 400, body={"name": "x", "ext_id": 123},
        message='json: unknown field "ext_id"'),
    bad("POST /registered_models", "state not in the enum", 400,
        body={"name": "x", "state": "GONE"}),
    bad("POST /registered_models", "malformed JSON", 400, body=b'{"name": '),
    bad("POST /registered_models", "duplicate name", 409, body={"name": "MNIST"}),
    bad("POST /registered_models", "name of 256 characters", 400,
        body={"name": "n" * 256}, differs="name-limit", upstream_status=500),
    good("GET /registered_models/2", "existing id"),
    bad("GET /registered_models/99", "unknown id", 404),
    bad("GET /registered_models/abc", "id not a number", 400),
    bad("GET /registered_models/0", "id 0 (parses as a 32-bit integer, names nothing)", 404),
    bad("GET /registered_models/1592733346", "id of 10 digits that names nothing", 404),
    bad("GET /registered_models/2147483648", "id beyond 32 bits", 400),
    good("PATCH /registered_models/2", "description, state ARCHIVED",
         body={"description": "digits", "state": "ARCHIVED"}),
    bad("PATCH /registered_models/99", "unknown id", 404, body={"description": "x"}),
    bad("PATCH /registered_models/2", "name (not updatable)", 400, body={"name": "other"},
        message='json: unknown field "name"'),
    bad("PATCH /registered_models/2", "description of the wrong type", 400,
        body={"description": 1}),
    good("GET /registered_models", "pageSize, orderBy, sortOrder",
         params={"pageSize": "2", "orderBy": "CREATE_TIME", "sortOrder": "DESC"}),
    good("GET /registered_models", "the nextPageToken it issued",
         params={"pageSize": "1", "nextPageToken": TokenFrom("/registered_models")}),
    bad("GET /registered_models", "nextPageToken not issued by it", 400,
        params={"nextPageToken": "garbage"}),
    bad("GET /registered_models", "nextPageToken of another list", 400,
        params={"pageSize": "1", "nextPageToken": TokenFrom("/artifacts")},
        differs="token-scope", upstream_status=200),
    good("GET /registered_models", "filterQuery", params={"filterQuery": "name = 'MNIST'"}),
    bad("GET /registered_models", "filterQuery malformed", 400,
        params={"filterQuery": "name = = 'MNIST'"}),
    bad("GET /registered_models", "pageSize not a number", 400, params={"pageSize": "ten"}),
    bad("GET /registered_models", "orderBy not in the enum", 400, params={"orderBy": "NAME"},
        differs="list-order", upstream_status=200),
    bad("GET /registered_models", "sortOrder not in the enum", 400,
        params={"sortOrder": "UP"}, differs="list-order", upstream_status=200),
    good("GET /registered_model", "name", params={"name": "MNIST"}),
    bad("GET /registered_model", "name of no model", 404, params={"name": "none"}),
    bad("GET /registered_model", "no parameter", 400),
    good("POST /registered_models", "empty optional externalId", 201,
         body={"name": "no-external-id", "externalId": ""}),
    bad("POST /registered_models", "empty externalId taken", 409,
         body={"name": "no-external-id-2", "externalId": ""}),
    good("POST /registered_models", "licenseLink and logo URIs", 201,
         body={"name": "licensed", "licenseLink": "https://www.apache.org/licenses/LICENSE-2.0",
               "logo": "data:image/png;base64,iVBORw0KGgo="}),
    bad("POST /registered_models", "licenseLink not a URI", 400,
        body={"name": "unlicensed", "licenseLink": "apache license"}, differs="uri-format",
        upstream_status=201),
    bad("PATCH /registered_models/2", "empty logo (not a URI)", 400, body={"logo": ""},
        differs="uri-format", upstream_status=200),
    good("GET /registered_models", "filterQuery on a list element",
         params={"filterQuery": "language = 'en' OR tasks = 'image-classification'"}),
    good("GET /registered_models", "filterQuery LIKE on list elements",
         params={"filterQuery": "tasks LIKE 'image-%'"}),
    bad("GET /registered_models", "filterQuery < on a list", 400,
        params={"filterQuery": "language < 'en'"}),
]  # fmt: skip

MODEL_VERSIONS = [
    good("POST /model_versions", "name, registeredModelId", 201,
         body={"name": "v2", "registeredModelId": "2", "author": "me"}),
    good("POST /model_versions", "name of 253 characters (model id 2)", 201,
         body={"name": "v" * 253, "registeredModelId": "2"}),
    bad("POST /model_versions", "name of 254 characters (model id 2)", 400,
        body={"name": "v" * 254, "registeredModelId": "2"}, differs="name-limit",
        upstream_status=500),
    bad("POST /model_versions", "missing required name", 422,
        body={"registeredModelId": "2"}, message=REQUIRED_NAME),
    bad("POST /model_versions", "missing required registeredModelId", 422, body={"name": "v9"},
        message="required field 'registeredModelId' is zero value."),
    bad("POST /model_versions", "registeredModelId of the wrong type", 400,
        body={"name": "v9", "registeredModelId": 2}),
    bad("POST /model_versions", "unknown registeredModelId", 404,
        body={"name": "v9", "registeredModelId": "99"}, differs="reference-check",
        upstream_status=201),
    bad("POST /model_versions", "duplicate name in the model", 409,
        body={"name": "v1", "registeredModelId": "2"}),
    good("POST /registered_models/2/versions", "name, registeredModelId", 201,
         body={"name": "v3", "registeredModelId": "2"}),
    bad("POST /registered_models/2/versions", "missing required registeredModelId", 422,
        body={"name": "v9"}, message="required field 'registeredModelId' is zero value."),
    bad("POST /registered_models/99/versions", "unknown model", 404,
        body={"name": "v9", "registeredModelId": "99"}, differs="reference-check",
        upstream_status=201),
    good("GET /model_versions/3", "existing id"),
    bad("GET /model_versions/99", "unknown id", 404),
    good("PATCH /model_versions/3", "state ARCHIVED", body={"state": "ARCHIVED"}),
    bad("PATCH /model_versions/3", "state not in the enum", 400, body={"state": "RETIRED"}),
    good("GET /registered_models/2/versions", "orderBy, sortOrder",
         params={"orderBy": "LAST_UPDATE_TIME", "sortOrder": "ASC"}),
    bad("GET /registered_models/99/versions", "unknown model", 404, differs="parent-check",
        upstream_status=200),
    good("GET /model_version", "name, parentResourceId",
         params={"name": "v1", "parentResourceId": "2"}),
    bad("GET /model_version", "version of another model", 404,
        params={"name": "v1", "parentResourceId": "99"}),
]  # fmt: skip

ARTIFACTS = [
    good("POST /model_artifacts", "standalone (no version), no name", 201,
         body={"uri": "s3://models/standalone/model.onnx"}),
    good("POST /model_artifacts", "standalone, name", 201,
         body={**MODEL_ARTIFACT, "name": "standalone"}),
    bad("POST /model_artifacts", "duplicate standalone name", 409,
        body={**MODEL_ARTIFACT, "name": "standalone"}),
    bad("POST /model_artifacts", "uri of the wrong type", 400, body={"uri": 7}),
    bad("POST /model_artifacts", "unknown field", 400, body={"uri": "s3://x", "version": "1"},
        message='json: unknown field "version"'),
    good("GET /model_artifacts/1", "existing id"),
    bad("GET /model_artifacts/99", "unknown id", 404),
    good("PATCH /model_artifacts/1", "modelFormatName", body={"modelFormatName": "onnx"}),
    good("POST /model_versions/3/artifacts", "new doc artifact (longer documentation)", 201,
         body={"artifactType": "doc-artifact", "uri": "https://example.com/README.md"}),
    good("POST /model_versions/3/artifacts", "existing artifact id (link)", 200,
         body={"artifactType": "model-artifact", "id": "3"}),
    bad("POST /model_versions/3/artifacts", "artifact id that does not exist", 400,
        body={"artifactType": "model-artifact", "id": "99"}),
    bad("POST /model_versions/3/artifacts", "missing artifactType", 400,
        body={"uri": "s3://x"}),
    bad("POST /model_versions/99/artifacts", "unknown version", 404, body=MODEL_ARTIFACT),
    good("GET /model_versions/3/artifacts", "artifactType",
         params={"artifactType": "doc-artifact"}),
    bad("GET /model_versions/99/artifacts", "unknown version", 404),
    good("GET /model_artifact", "name, parentResourceId",
         params={"name": "model", "parentResourceId": "3"}),
    bad("GET /artifacts", "artifactType not in the enum", 400, params={"artifactType": "image"}),
    bad("POST /artifacts", "metric without value", 400,
        body={"artifactType": "metric", "name": "acc"}),
    bad("GET /artifacts/99", "unknown id", 404),
    bad("PATCH /artifacts/1", "artifactType of another type", 400,
        body={"artifactType": "doc-artifact", "uri": "s3://x"}),
    bad("POST /model_versions/3/artifacts", "empty optional name", 400,
        body={"artifactType": "doc-artifact", "name": "", "uri": "https://example.com/a.md"},
        differs="empty-name", upstream_status=201),
    good("POST /model_versions/3/artifacts", "empty optional externalId", 201,
         body={"artifactType": "doc-artifact", "externalId": "", "uri": "https://e.com/b.md"}),
]  # fmt: skip

SERVING = [
    good("POST /serving_environments", "name", 201, body={"name": "staging"}),
    bad("POST /serving_environments", "missing required name", 422, body={},
        message=REQUIRED_NAME),
    good("POST /inference_services", "registeredModelId, servingEnvironmentId", 201,
         body={"name": "mnist-2", "registeredModelId": "2", "servingEnvironmentId": "1"}),
    bad("POST /inference_services", "missing required registeredModelId", 422,
        body={"servingEnvironmentId": "1"},
        message="required field 'registeredModelId' is zero value."),
    bad("POST /inference_services", "unknown registeredModelId", 404,
        body={"registeredModelId": "99", "servingEnvironmentId": "1"}, differs="reference-check",
        upstream_status=201),
    bad("POST /inference_services", "unknown servingEnvironmentId", 404,
        body={"registeredModelId": "2", "servingEnvironmentId": "99"}),
    good("POST /inference_services/4/serves", "modelVersionId", 201, body={"modelVersionId": "3"}),
    bad("POST /inference_services/4/serves", "missing required modelVersionId", 422, body={},
        message="required field 'modelVersionId' is zero value."),
    good("GET /inference_services/4/model", "existing id"),
    good("GET /inference_services/4/version", "existing id"),
    bad("GET /inference_services/99", "unknown id", 404),
    bad("POST /inference_services/4/serves", "empty optional name", 400,
        body={"modelVersionId": "3", "name": ""}, differs="empty-name", upstream_status=201),
]  # fmt: skip

EXPERIMENTS = [
    good("POST /experiments", "name", 201, body={"name": "cnn-training"}),
    bad("POST /experiments", "missing required name", 422, body={}, message=REQUIRED_NAME),
    bad("POST /experiments", "duplicate name", 409, body={"name": "mnist-training"}),
    good("POST /experiment_runs", "experimentId, start time", 201,
         body={"experimentId": "5", "name": "run-2", "startTimeSinceEpoch": "1000"}),
    bad("POST /experiment_runs", "missing required experimentId", 422, body={"name": "r"},
        message="required field 'experimentId' is zero value."),
    bad("POST /experiment_runs", "unknown experimentId", 404, body={"experimentId": "99"}),
    bad("POST /experiment_runs", "startTimeSinceEpoch empty", 400,
        body={"experimentId": "5", "startTimeSinceEpoch": ""}),
    bad("POST /experiment_runs", "ends before it starts", 400,
        body={"experimentId": "5", "startTimeSinceEpoch": "2000", "endTimeSinceEpoch": "1000"}),
    good("PATCH /experiment_runs/6", "status FINISHED, state ARCHIVED",
         body={"status": "FINISHED", "state": "ARCHIVED"}),
    good("POST /experiment_runs/6/artifacts", "new metric", 201,
         body={"artifactType": "metric", "name": "accuracy", "value": 0.9, "step": 1},
         differs="upsert-status", upstream_status=200),
    good("POST /experiment_runs/6/artifacts", "metric (logged again: updated, history kept)",
         200, body={"artifactType": "metric", "name": "loss", "value": 0.25, "step": 2}),
    bad("POST /experiment_runs/6/artifacts", "metric without value", 400,
        body={"artifactType": "metric", "name": "acc"}),
    good("GET /experiment_runs/6/metric_history", "name, stepIds",
         params={"name": "loss", "stepIds": "2"}),
    bad("GET /experiment_runs/6/metric_history", "stepIds not numbers", 400,
        params={"stepIds": "one"}),
    bad("GET /experiment_runs/99/metric_history", "unknown run", 404),
    good("GET /experiments/5/experiment_runs", "pageSize", params={"pageSize": "1"}),
    bad("GET /experiments/99/experiment_runs", "unknown experiment", 404),
    good("POST /experiment_runs", "empty optional externalId", 201,
         body={"experimentId": "5", "name": "run-3", "externalId": ""}),
    bad("POST /experiment_runs", "empty optional name", 400,
        body={"experimentId": "5", "name": ""}, differs="empty-name", upstream_status=201),
    good("PATCH /experiments/5", "empty externalId", body={"externalId": ""}),
    good("GET /experiment_runs/metric_history", "the document's example filterQuery (state)",
         params={"filterQuery": "name='my-model' AND state='LIVE'"}),
    good("GET /experiment_runs/6/metric_history", "filterQuery on state",
         params={"filterQuery": "state = 'UNKNOWN'"}),
]  # fmt: skip

ROUTING = [
    bad("GET /no_such_collection", "unknown path", 404, differs="router"),
    bad("DELETE /registered_models/2", "method not in the API", 405, differs="router"),
    bad("TRACE /registered_models", "method not in the API", 405, differs="router"),
    bad("POST /registered_models", "body of 5 MiB", 413,
        body={"name": "big", "description": "x" * (5 * MIB)}, differs="body-limit",
        upstream_status=201),
]  # fmt: skip

CASES = [*REGISTERED_MODELS, *MODEL_VERSIONS, *ARTIFACTS, *SERVING, *EXPERIMENTS, *ROUTING]
