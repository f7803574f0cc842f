"""customProperties: Python values to and from the spec's MetadataValue shapes.

`{"metadataType": "MetadataIntValue", "int_value": "3"}` ↔ `3`, and likewise for double,
string, bool and struct (base64 of a JSON document) values. A proto value has no Python
form here: it decodes to a short placeholder.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

VALUE_FIELDS = {
    "MetadataStringValue": "string_value",
    "MetadataIntValue": "int_value",
    "MetadataDoubleValue": "double_value",
    "MetadataBoolValue": "bool_value",
    "MetadataStructValue": "struct_value",
    "MetadataProtoValue": "proto_value",
}

MetadataValue = dict[str, Any]


def encode_property(value: object) -> MetadataValue:
    """The MetadataValue of a bool, int, float, str, or JSON-able dict/list (a struct)."""
    if isinstance(value, bool):
        return {"metadataType": "MetadataBoolValue", "bool_value": value}
    if isinstance(value, int):
        return {"metadataType": "MetadataIntValue", "int_value": str(value)}
    if isinstance(value, float):
        return {"metadataType": "MetadataDoubleValue", "double_value": value}
    if isinstance(value, dict | list):
        encoded = base64.b64encode(json.dumps(value).encode()).decode()
        return {"metadataType": "MetadataStructValue", "struct_value": encoded}
    return {"metadataType": "MetadataStringValue", "string_value": str(value)}


def decode_property(value: Mapping[str, Any]) -> Any:
    """The Python value of a MetadataValue; ValueError or TypeError when it is malformed."""
    kind = str(value.get("metadataType", ""))
    raw = value.get(VALUE_FIELDS.get(kind, ""), value.get("string_value"))
    if kind == "MetadataIntValue":
        return int(raw)
    if kind == "MetadataDoubleValue":
        return float(raw)
    if kind == "MetadataBoolValue":
        return bool(raw)
    if kind == "MetadataStructValue":
        return decoded_struct(str(raw))
    if kind == "MetadataProtoValue":
        return f"<{value.get('type', 'proto')} value>"
    return raw


def decoded_struct(encoded: str) -> Any:
    """A struct value's JSON document (the encoded text itself when it is not one)."""
    try:
        return json.loads(base64.b64decode(encoded))
    except ValueError:
        return encoded


def decode_properties(custom: object) -> dict[str, Any]:
    """customProperties as plain values; anything malformed or unset left out."""
    plain: dict[str, Any] = {}
    for name, value in (custom if isinstance(custom, Mapping) else {}).items():
        if not isinstance(value, Mapping):
            continue
        try:
            decoded = decode_property(value)
        except (TypeError, ValueError):
            continue
        if decoded is not None:
            plain[str(name)] = decoded
    return plain


def property_text(custom: Mapping[str, Any], name: str) -> str | None:
    """One custom property as text; None when it is absent, empty or malformed."""
    value = decode_properties({name: custom.get(name)}).get(name)
    return None if value in (None, "") else str(value)
