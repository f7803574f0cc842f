"""Translate between the JSON wire format and stored rows.

Decoding validates a request body against a kind's fields (unknown field, wrong type or bad
enum value: 400; missing required field: 422) and yields column values. Encoding turns a
stored row into the entity JSON upstream returns: ids and epoch milliseconds as strings,
`customProperties` always present, unset fields omitted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from registry_local.errors import BadRequest, MissingField, cut, shown
from registry_local.kinds import Field, FieldType, Kind
from registry_local.properties import (
    MAX_NAME_LENGTH,
    CustomProperties,
    check_text,
    check_uri,
    finite_number,
    parse_custom_properties,
)

# Upstream parses ids with Go's `strconv.ParseInt(id, 10, 32)` (`apiutils.ValidateIDAsInt32`):
# an optional sign, ASCII digits, any value an int32 holds. Ids outside that are a 400 there and
# here; an id that parses but names nothing (`0`, `-1`, `1592733346`) is a 404.
ID_PATTERN = re.compile(r"[+-]?[0-9]{1,64}")  # leading zeros allowed, as Go's; 64: no bignums
INT32_RANGE = range(-(2**31), 2**31)
INT64_PATTERN = re.compile(r"[+-]?[0-9]{1,64}")  # epoch millis: `strconv.ParseInt(t, 10, 64)`
INT64_MAX = 2**63 - 1
READ_ONLY = frozenset({"id", "createTimeSinceEpoch", "lastUpdateTimeSinceEpoch"})
ARTIFACT_READ_ONLY = READ_ONLY | {"experimentId", "experimentRunId"}
EMPTY_MAP = orjson.Fragment(b"{}")
# The document lets a create send an optional name "" (upstream stores it), but its entity
# schemas give `name` minLength 1: refused, so every answer stays valid against the document.
EMPTY_NAME = "name must not be empty: leave it out (an artifact then gets a UUID) or give one"


@dataclass
class Changes:
    """What a create or update request asks for, in column terms."""

    values: dict[str, Any] = field(default_factory=dict)
    custom: CustomProperties | None = None
    entity_id: int | None = None  # an artifact upsert names an existing artifact by id


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or BadRequest."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def parse_id(text: object, what: str) -> int:
    """An entity id as upstream parses it: a decimal string of a 32-bit integer."""
    if not isinstance(text, str) or not ID_PATTERN.fullmatch(text) or int(text) not in INT32_RANGE:
        raise BadRequest(f"{what} must be a 32-bit decimal integer string, got {shown(text)}")
    return int(text)


def parse_int64(text: object, what: str) -> int:
    if not isinstance(text, str) or not INT64_PATTERN.fullmatch(text):
        raise BadRequest(f"{what} must be an integer in a string, got {shown(text)}")
    return check_int64(int(text), what)


def check_int64(number: int, what: str) -> int:
    if not -INT64_MAX - 1 <= number <= INT64_MAX:
        raise BadRequest(f"{what} is out of the 64-bit integer range")
    return number


def decode_create(kind: Kind, body: Mapping[str, Any], *, full_schema: bool = False) -> Changes:
    """A create request: every writable field, `id` etc. only in full-entity bodies.

    As upstream, type errors come first (400), then the first required field that is absent,
    null or empty (422, upstream's message word for word)."""
    changes = _decode(kind, body, creating=True, full_schema=full_schema)
    for wire in kind.required:
        if is_zero(body.get(wire)):
            raise MissingField(f"required field '{wire}' is zero value.")
    return changes


def is_zero(value: object) -> bool:
    """Go's zero value of a required string field: absent, null or empty."""
    return value is None or value == ""


def decode_update(kind: Kind, body: Mapping[str, Any]) -> Changes:
    """A PATCH request: only the fields upstream lets an update change."""
    return _decode(kind, body, creating=False, full_schema=False)


def _decode(kind: Kind, body: Mapping[str, Any], *, creating: bool, full_schema: bool) -> Changes:
    changes = Changes()
    read_only = (ARTIFACT_READ_ONLY if kind.is_artifact else READ_ONLY) if full_schema else ()
    for wire, value in body.items():
        if wire == "customProperties":
            changes.custom = None if value is None else parse_custom_properties(value)
        elif wire == "artifactType" and kind.is_artifact:
            if value is not None and value != kind.name:
                raise BadRequest(f"artifactType {shown(value)} does not match {kind.name!r}")
        elif wire in read_only:
            if wire == "id" and value is not None:
                changes.entity_id = parse_id(value, "id")
        else:
            spec = _writable(kind, wire, creating)
            if value is not None and not (creating and value == "" and wire in kind.required):
                changes.values[spec.column] = convert(spec, value)  # a required "": 422 below
    return changes


def _writable(kind: Kind, wire: str, creating: bool) -> Field:
    spec = kind.field(wire)
    if spec is None or not (spec.on_create if creating else spec.on_update):
        raise BadRequest(f"json: unknown field {quoted(wire)}")  # upstream's words
    return spec


def quoted(text: str) -> str:
    """A client's field name in double quotes, as Go prints it, cut to SHOWN_LENGTH."""
    return f'"{cut(text)}"'


def convert(spec: Field, value: object) -> Any:
    """Validate one wire value and return what the column stores."""
    where = spec.wire
    kind = spec.type
    if kind is FieldType.REF:
        return parse_id(value, where)
    if kind is FieldType.INT64:
        return parse_int64(value, where)
    if kind is FieldType.INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            raise BadRequest(f"{where} must be an integer")
        return check_int64(value, where)
    if kind is FieldType.DOUBLE:
        return finite_number(value, where)
    if kind is FieldType.STRINGS:
        return _strings(value, where)
    return _text(spec, check_text(value, where))


def _text(spec: Field, text: str) -> str:
    where = spec.wire
    if spec.type is FieldType.ENUM and text not in spec.choices:
        raise BadRequest(f"{where} must be one of {', '.join(spec.choices)}, got {shown(text)}")
    if spec.type is FieldType.NAME and len(text) > MAX_NAME_LENGTH:
        raise BadRequest(f"{where} must have at most {MAX_NAME_LENGTH} characters")
    if where == "name" and not text:
        raise BadRequest(EMPTY_NAME)
    if spec.type is FieldType.URI:
        check_uri(text, where)
    return text


def _strings(value: object, where: str) -> str:
    if not isinstance(value, list):
        raise BadRequest(f"{where} must be an array of strings")
    return orjson.dumps([check_text(item, f"{where}[]") for item in value]).decode()


Encoder = Callable[[Any], Any]
_ENCODERS: dict[FieldType, Encoder] = {
    FieldType.REF: str,
    FieldType.INT64: str,
    FieldType.STRINGS: lambda text: orjson.Fragment(text),
}


class Codec:
    """Renders stored rows of one kind as wire JSON objects (optionally renaming fields)."""

    def __init__(self, kind: Kind, renames: Mapping[str, str] | None = None) -> None:
        renames = renames or {}
        self.kind = kind
        self.artifact_type = kind.name if kind.is_artifact else None
        self.plan = [
            (renames.get(f.wire, f.wire), f.column, _ENCODERS.get(f.type)) for f in kind.fields
        ]
        if kind.is_artifact:
            self.plan += [("experimentId", "experiment_id", str)]
            self.plan += [("experimentRunId", "experiment_run_id", str)]

    def encode(self, row: Mapping[str, Any]) -> dict[str, Any]:
        custom = row["custom_properties"]
        entity: dict[str, Any] = {
            "id": str(row["id"]),
            "createTimeSinceEpoch": str(row["create_time"]),
            "lastUpdateTimeSinceEpoch": str(row["update_time"]),
            "customProperties": orjson.Fragment(custom) if custom else EMPTY_MAP,
        }
        if self.artifact_type:
            entity["artifactType"] = self.artifact_type
        for wire, column, encoder in self.plan:
            value = row[column]
            if value is not None:
                entity[wire] = encoder(value) if encoder else value
        return entity
