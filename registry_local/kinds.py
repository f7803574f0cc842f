"""The entity types of the Kubeflow Model Registry API and their fields.

Each `Kind` lists its wire fields (camelCase, as in the OpenAPI spec) with the column that
stores them, the type used to validate them and whether a create / an update may set them.
Every kind also has `id`, `name`, `description`, `externalId`, `customProperties`,
`createTimeSinceEpoch` and `lastUpdateTimeSinceEpoch` (see `wire.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Family(Enum):
    """Which table (and which id sequence) a kind lives in, as upstream's MLMD types do."""

    CONTEXT = "context"
    ARTIFACT = "artifact"
    SERVE = "serve"
    HISTORY = "history"


class FieldType(Enum):
    """How a wire value is validated, stored and rendered."""

    NAME = "name"  # string, up to 255 characters, indexed column
    TEXT = "text"  # free text
    REF = "ref"  # id of another entity: decimal string on the wire, integer column
    INT64 = "int64"  # integer carried as a decimal string (epoch milliseconds)
    INTEGER = "integer"  # JSON integer
    DOUBLE = "double"  # JSON number
    ENUM = "enum"  # one of `Field.choices`
    STRINGS = "strings"  # JSON array of strings
    URI = "uri"  # an absolute URI (RFC 3986): the document's `format: uri`


@dataclass(frozen=True)
class Field:
    """One wire field of a kind and the column that stores it."""

    wire: str
    column: str
    type: FieldType = FieldType.TEXT
    choices: tuple[str, ...] = ()
    on_create: bool = True
    on_update: bool = True
    default: str | None = None
    target: str | None = None  # for REF fields: the kind of the referenced entity


@dataclass(frozen=True)
class Kind:
    """An entity type: `RegisteredModel`, `ModelVersion`, `model-artifact`, ..."""

    name: str
    family: Family
    fields: tuple[Field, ...]
    required: tuple[str, ...] = ()
    parent_field: str | None = None  # wire field holding the parent id (stored in parent_id)
    parent_kind: str | None = None
    filter_extra: dict[str, Field] = field(default_factory=dict)

    @property
    def is_artifact(self) -> bool:
        return self.family is Family.ARTIFACT

    def field(self, wire: str) -> Field | None:
        return self.fields_by_wire.get(wire)

    @property
    def fields_by_wire(self) -> dict[str, Field]:
        return _FIELD_INDEX.setdefault(self.name, {f.wire: f for f in self.fields})


_FIELD_INDEX: dict[str, dict[str, Field]] = {}

LIVE_STATES = ("LIVE", "ARCHIVED")
ARTIFACT_STATES = (
    "UNKNOWN",
    "PENDING",
    "LIVE",
    "MARKED_FOR_DELETION",
    "DELETED",
    "ABANDONED",
    "REFERENCE",
)
EXECUTION_STATES = ("UNKNOWN", "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELED")
INFERENCE_SERVICE_STATES = ("DEPLOYED", "UNDEPLOYED")
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
PARAMETER_TYPES = ("string", "number", "boolean", "object")
ARTIFACT_TYPES = ("model-artifact", "doc-artifact", "dataset-artifact", "metric", "parameter")

COMMON = (
    Field("name", "name", FieldType.NAME, on_update=False),
    Field("description", "description"),
    Field("externalId", "external_id", FieldType.NAME),
)


def _state(choices: tuple[str, ...], default: str) -> Field:
    return Field("state", "state", FieldType.ENUM, choices, default=default)


def _ref(wire: str, column: str, target: str, *, on_update: bool = False) -> Field:
    return Field(wire, column, FieldType.REF, on_update=on_update, target=target)


REGISTERED_MODEL = Kind(
    "RegisteredModel",
    Family.CONTEXT,
    (
        *COMMON,
        Field("owner", "owner"),
        _state(LIVE_STATES, "LIVE"),
        Field("readme", "readme"),
        Field("maturity", "maturity"),
        Field("language", "language", FieldType.STRINGS),
        Field("tasks", "tasks", FieldType.STRINGS),
        Field("provider", "provider"),
        Field("logo", "logo", FieldType.URI),
        Field("license", "license"),
        Field("licenseLink", "license_link", FieldType.URI),
        Field("libraryName", "library_name"),
    ),
    required=("name",),
)

MODEL_VERSION = Kind(
    "ModelVersion",
    Family.CONTEXT,
    (
        *COMMON,
        _ref("registeredModelId", "parent_id", "RegisteredModel"),
        _state(LIVE_STATES, "LIVE"),
        Field("author", "author"),
    ),
    required=("name", "registeredModelId"),
    parent_field="registeredModelId",
    parent_kind="RegisteredModel",
)

SERVING_ENVIRONMENT = Kind("ServingEnvironment", Family.CONTEXT, COMMON, required=("name",))

INFERENCE_SERVICE = Kind(
    "InferenceService",
    Family.CONTEXT,
    (
        *COMMON,
        _ref("servingEnvironmentId", "parent_id", "ServingEnvironment"),
        _ref("registeredModelId", "registered_model_id", "RegisteredModel"),
        _ref("modelVersionId", "model_version_id", "ModelVersion", on_update=True),
        Field("runtime", "runtime"),
        Field(
            "desiredState", "state", FieldType.ENUM, INFERENCE_SERVICE_STATES, default="DEPLOYED"
        ),
    ),
    required=("registeredModelId", "servingEnvironmentId"),
    parent_field="servingEnvironmentId",
    parent_kind="ServingEnvironment",
)

EXPERIMENT = Kind(
    "Experiment",
    Family.CONTEXT,
    (*COMMON, Field("owner", "owner"), _state(LIVE_STATES, "LIVE")),
    required=("name",),
)

EXPERIMENT_RUN = Kind(
    "ExperimentRun",
    Family.CONTEXT,
    (
        *COMMON,
        _ref("experimentId", "parent_id", "Experiment"),
        Field("startTimeSinceEpoch", "start_time", FieldType.INT64, on_update=False),
        Field("endTimeSinceEpoch", "end_time", FieldType.INT64),
        Field("status", "status", FieldType.ENUM, RUN_STATUSES, default="RUNNING"),
        _state(LIVE_STATES, "LIVE"),
        Field("owner", "owner"),
    ),
    required=("experimentId",),
    parent_field="experimentId",
    parent_kind="Experiment",
)

SERVE_MODEL = Kind(
    "ServeModel",
    Family.SERVE,
    (
        *COMMON,
        _ref("modelVersionId", "model_version_id", "ModelVersion"),
        Field("lastKnownState", "state", FieldType.ENUM, EXECUTION_STATES, default="UNKNOWN"),
    ),
    required=("modelVersionId",),
    parent_kind="InferenceService",
    filter_extra={"inferenceServiceId": Field("inferenceServiceId", "parent_id", FieldType.REF)},
)

_ARTIFACT_STATE = _state(ARTIFACT_STATES, "UNKNOWN")
_URI = Field("uri", "uri")
_ARTIFACT_FILTER_EXTRA = {
    "experimentId": Field("experimentId", "experiment_id", FieldType.REF),
    "experimentRunId": Field("experimentRunId", "experiment_run_id", FieldType.REF),
    "artifactType": Field("artifactType", "kind", FieldType.ENUM, ARTIFACT_TYPES),
}


def _artifact(name: str, *fields: Field) -> Kind:
    return Kind(name, Family.ARTIFACT, (*COMMON, *fields), filter_extra=_ARTIFACT_FILTER_EXTRA)


MODEL_ARTIFACT = _artifact(
    "model-artifact",
    _URI,
    _ARTIFACT_STATE,
    Field("modelFormatName", "model_format_name"),
    Field("modelFormatVersion", "model_format_version"),
    Field("storageKey", "storage_key"),
    Field("storagePath", "storage_path"),
    Field("serviceAccountName", "service_account_name"),
    Field("modelSourceKind", "model_source_kind"),
    Field("modelSourceClass", "model_source_class"),
    Field("modelSourceGroup", "model_source_group"),
    Field("modelSourceId", "model_source_id"),
    Field("modelSourceName", "model_source_name"),
)
DOC_ARTIFACT = _artifact("doc-artifact", _URI, _ARTIFACT_STATE)
DATASET_ARTIFACT = _artifact(
    "dataset-artifact",
    _URI,
    _ARTIFACT_STATE,
    Field("digest", "digest"),
    Field("sourceType", "source_type"),
    Field("source", "source"),
    Field("schema", "dataset_schema"),
    Field("profile", "profile"),
)
METRIC = _artifact(
    "metric",
    Field("value", "metric_value", FieldType.DOUBLE),
    Field("timestamp", "timestamp", FieldType.INT64),
    Field("step", "step", FieldType.INTEGER),
    _ARTIFACT_STATE,
)
PARAMETER = _artifact(
    "parameter",
    Field("value", "parameter_value"),
    Field("parameterType", "parameter_type", FieldType.ENUM, PARAMETER_TYPES, default="string"),
    _ARTIFACT_STATE,
)

ARTIFACT_KINDS: dict[str, Kind] = {
    kind.name: kind for kind in (MODEL_ARTIFACT, DOC_ARTIFACT, DATASET_ARTIFACT, METRIC, PARAMETER)
}
CONTEXT_KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        REGISTERED_MODEL,
        MODEL_VERSION,
        SERVING_ENVIRONMENT,
        INFERENCE_SERVICE,
        EXPERIMENT,
        EXPERIMENT_RUN,
    )
}
ALL_KINDS: dict[str, Kind] = {**CONTEXT_KINDS, **ARTIFACT_KINDS, SERVE_MODEL.name: SERVE_MODEL}
