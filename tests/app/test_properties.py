"""customProperties: typed values out of MetadataValues, grouped and laid out readably."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from app.properties import format_number, group_of, grouped_properties, readable
from mr_client import InferenceService
from mr_client.properties import decode_property as metadata_value


def string_property(service: dict[str, Any], name: str) -> str | None:
    return InferenceService.from_wire({"id": "6", **service}).property_text(name)


SHA = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"


def string(value: str) -> dict[str, str]:
    return {"metadataType": "MetadataStringValue", "string_value": value}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (string("onnx"), "onnx"),
        ({"metadataType": "MetadataIntValue", "int_value": "17"}, 17),
        ({"metadataType": "MetadataDoubleValue", "double_value": 0.9712}, 0.9712),
        ({"metadataType": "MetadataBoolValue", "bool_value": True}, True),
        (
            {
                "metadataType": "MetadataStructValue",
                "struct_value": base64.b64encode(b'{"a": 1}').decode(),
            },
            {"a": 1},
        ),  # fmt: skip
        (
            {"metadataType": "MetadataProtoValue", "type": "t.Msg", "proto_value": "AA=="},
            "<t.Msg value>",
        ),  # fmt: skip
    ],
    ids=["string", "int", "double", "bool", "struct", "proto"],
)
def test_metadata_value_returns_typed_value(value: dict[str, object], expected: object) -> None:
    assert metadata_value(value) == expected


def test_metadata_value_keeps_undecodable_struct() -> None:
    value = {"metadataType": "MetadataStructValue", "struct_value": "not base64!"}
    assert metadata_value(value) == "not base64!"


def test_string_property_reads_url() -> None:
    service = {"customProperties": {"url": string("http://127.0.0.1:8008/v2/models/m")}}
    assert string_property(service, "url") == "http://127.0.0.1:8008/v2/models/m"


@pytest.mark.parametrize(
    "service",
    [
        {},
        {"customProperties": {}},
        {"customProperties": {"url": string("")}},
        {"customProperties": {"url": "not a metadata value"}},
    ],  # fmt: skip
    ids=["no-properties", "no-url", "empty-url", "malformed"],
)
def test_string_property_returns_none_when_missing(service: dict[str, object]) -> None:
    assert string_property(service, "url") is None


@pytest.mark.parametrize(
    ("value", "layout"),
    [
        (string('{"tensorflow": "2.21.0", "onnx": "1.17.0"}'), "json"),
        (string("numpy==2.1.0\nonnx==1.17.0\n"), "text"),
        (string(SHA), "code"),
        (string(f"sha256:{SHA}"), "code"),
        (string("mnist-5k"), "plain"),
        (string("{not json"), "plain"),
        ({"metadataType": "MetadataDoubleValue", "double_value": 0.97}, "number"),
    ],
    ids=["json", "requirements", "digest", "prefixed-digest", "plain", "broken-json", "double"],
)
def test_readable_picks_layout(value: dict[str, object], layout: str) -> None:
    assert readable("p", value).layout == layout


@pytest.mark.parametrize(
    ("name", "group"),
    [
        ("sha256", "Integrity"),
        ("onnx_sha256", "Integrity"),
        ("test_accuracy", "Metrics"),
        ("epochs", "Parameters"),
        ("dataset", "Lineage"),
        ("requirements", "Dependencies"),
        ("onnx_opset", "Dependencies"),
        ("colour", "Other"),
    ],  # fmt: skip
)
def test_group_of_sorts_property_by_name(name: str, group: str) -> None:
    assert group_of(name) == group


def test_grouped_properties_orders_groups_and_names() -> None:
    custom = {
        "sha256": string(SHA),
        "accuracy": {"metadataType": "MetadataDoubleValue", "double_value": 0.97},
        "onnx_opset": {"metadataType": "MetadataIntValue", "int_value": "17"},
        "dependencies": string(json.dumps({"onnx": "1.17.0"})),
        "garbage": "not a metadata value",
    }
    groups = grouped_properties(custom)
    assert list(groups) == ["Metrics", "Dependencies", "Integrity"]
    assert [p.name for p in groups["Dependencies"]] == ["dependencies", "onnx_opset"]


def test_grouped_properties_handles_no_properties() -> None:
    assert grouped_properties(None) == {}


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.97123, "0.9712"),
        (1234, "1,234"),
        (True, "true"),
        (12345.67, "12,345.7"),
        (6.5565e-07, "6.56e-07"),
        (0.0, "0.0000"),
    ],  # fmt: skip
)
def test_format_number_reads_well(value: float, text: str) -> None:
    assert format_number(value) == text
