"""customProperties in upstream's typed encoding.

On the wire every value names its type: `{"metadataType": "MetadataIntValue", "int_value":
"42"}` (integers travel as strings). A validated map is kept as the JSON document clients get
back, plus one typed row per scalar value for `filterQuery`.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from typing import Any

import orjson

from registry_local.errors import BadRequest, shown

MAX_NAME_LENGTH = 255
# The spec's pattern allows 9 digits, but upstream's server (and its Python client) carry any
# int64, e.g. epoch milliseconds: accept those too.
INT_VALUE = re.compile(r"-?(?:[1-9][0-9]{0,18}|0)")
INT64_RANGE = range(-(2**63), 2**63)
# RFC 3986 `URI` (what the document's `format: uri` means): scheme ":" hier-part, query, fragment.
_PCHAR = r"(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})"
_REG_NAME = r"(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*"
_USERINFO = r"(?:[A-Za-z0-9._~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*"
URI = re.compile(
    rf"""[A-Za-z][A-Za-z0-9+.-]*:
    (?://(?:{_USERINFO}@)?(?:\[(?P<literal>[^\]/]*)\]|{_REG_NAME})(?::[0-9]*)?(?:/{_PCHAR}*)*
      |/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?
      |{_PCHAR}+(?:/{_PCHAR}*)*
      |)
    (?:\?(?:{_PCHAR}|[/?])*)?(?:\#(?:{_PCHAR}|[/?])*)?""",
    re.VERBOSE,
)
IP_FUTURE = re.compile(r"v[0-9A-Fa-f]+\.[A-Za-z0-9._~!$&'()*+,;=:-]+")

# metadataType -> the keys its object carries besides metadataType
VALUE_KEYS: dict[str, tuple[str, ...]] = {
    "MetadataStringValue": ("string_value",),
    "MetadataIntValue": ("int_value",),
    "MetadataDoubleValue": ("double_value",),
    "MetadataBoolValue": ("bool_value",),
    "MetadataStructValue": ("struct_value",),
    "MetadataProtoValue": ("type", "proto_value"),
}


@dataclass(frozen=True)
class CustomProperties:
    """A validated customProperties map: its JSON document and its typed rows."""

    document: str
    typed_rows: tuple[dict[str, Any], ...]


def check_text(value: object, where: str) -> str:
    """A JSON string without NUL characters (which PostgreSQL cannot store)."""
    if not isinstance(value, str):
        raise BadRequest(f"{where} must be a string")
    if "\x00" in value:
        raise BadRequest(f"{where} must not contain NUL characters")
    return value


def check_uri(text: str, where: str) -> str:
    """An absolute URI (RFC 3986), as the OpenAPI document's `format: uri` requires."""
    match = URI.fullmatch(text)
    literal = match["literal"] if match else None
    if match is None or (literal is not None and not _ip_literal(literal)):
        raise BadRequest(f"{where} must be an absolute URI (RFC 3986), got {shown(text)}")
    return text


def _ip_literal(text: str) -> bool:
    """The inside of `[...]` in a URI's host: an IPv6 address or an IPvFuture."""
    if IP_FUTURE.fullmatch(text):
        return True
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return "%" not in text  # a zone id needs RFC 6874's %25, which RFC 3986 does not allow


def parse_custom_properties(raw: object) -> CustomProperties:
    """Validate a customProperties object; raise BadRequest on anything upstream rejects."""
    if not isinstance(raw, dict):
        raise BadRequest("customProperties must be an object")
    clean: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for name, value in raw.items():
        check_property_name(name)
        clean[name] = parse_value(name, value)
        row = typed_row(name, clean[name])
        if row is not None:
            rows.append(row)
    return CustomProperties(orjson.dumps(clean).decode(), tuple(rows))


def check_property_name(name: str) -> None:
    check_text(name, "a customProperties key")
    if len(name) > MAX_NAME_LENGTH:  # "" is a key like any other, as upstream's
        raise BadRequest(f"customProperties keys must have at most {MAX_NAME_LENGTH} characters")


def parse_value(name: str, value: object) -> dict[str, Any]:
    """One `Metadata*Value` object, normalised."""
    where = f"customProperties[{name!r}]"
    if not isinstance(value, dict):
        raise BadRequest(f"{where} must be an object with a metadataType")
    metadata_type = value.get("metadataType")
    if not isinstance(metadata_type, str) or metadata_type not in VALUE_KEYS:
        raise BadRequest(f"{where}.metadataType must be one of {', '.join(VALUE_KEYS)}")
    keys = VALUE_KEYS[metadata_type]
    extra = set(value) - {"metadataType", *keys}
    if extra:
        raise BadRequest(f"{where} has unknown field(s) {', '.join(sorted(extra))}")
    clean: dict[str, Any] = {"metadataType": metadata_type}
    for key in keys:
        if key not in value:
            raise BadRequest(f"{where} of type {metadata_type} needs {key}")
        clean[key] = _scalar(key, value[key], f"{where}.{key}")
    return clean


def _scalar(key: str, value: object, where: str) -> object:
    if key == "int_value":
        text = check_text(value, where)
        if not INT_VALUE.fullmatch(text) or int(text) not in INT64_RANGE:
            raise BadRequest(f"{where} must be a decimal integer string (int64)")
        return str(int(text))
    if key == "double_value":
        return finite_number(value, where)
    if key == "bool_value":
        if not isinstance(value, bool):
            raise BadRequest(f"{where} must be a boolean")
        return value
    return check_text(value, where)


def finite_number(value: object, where: str) -> float:
    """A JSON number (not a boolean) that fits a double."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{where} must be a number")
    try:
        number = float(value)
    except OverflowError:
        raise BadRequest(f"{where} is out of range") from None
    if not math.isfinite(number):
        raise BadRequest(f"{where} must be finite")
    return number


def typed_row(name: str, value: dict[str, Any]) -> dict[str, Any] | None:
    """The `properties` row that lets filterQuery find this value (None for struct/proto)."""
    row: dict[str, Any] = {
        "name": name,
        "string_value": None,
        "int_value": None,
        "double_value": None,
        "bool_value": None,
    }
    metadata_type = value["metadataType"]
    if metadata_type == "MetadataStringValue":
        row["string_value"] = value["string_value"]
    elif metadata_type == "MetadataIntValue":
        row["int_value"] = int(value["int_value"])
    elif metadata_type == "MetadataDoubleValue":
        row["double_value"] = value["double_value"]
    elif metadata_type == "MetadataBoolValue":
        row["bool_value"] = value["bool_value"]
    else:
        return None
    return row
