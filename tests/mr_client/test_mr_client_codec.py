"""customProperties ↔ Python values, the shapes of the upstream spec's MetadataValues."""

from __future__ import annotations

from pathlib import Path

import pytest

from mr_client import decode_properties, encode_property, property_text
from mr_client.urls import api_path, seed_path
from tests.import_graph import PARTS, imported_roots

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ("a", {"metadataType": "MetadataStringValue", "string_value": "a"}),
        (3, {"metadataType": "MetadataIntValue", "int_value": "3"}),
        (0.5, {"metadataType": "MetadataDoubleValue", "double_value": 0.5}),
        (True, {"metadataType": "MetadataBoolValue", "bool_value": True}),
        ({"k": [1]}, {"metadataType": "MetadataStructValue", "struct_value": "eyJrIjogWzFdfQ=="}),
    ],
)
def test_property_round_trip(value: object, wire: dict[str, object]) -> None:
    assert encode_property(value) == wire
    assert decode_properties({"p": wire}) == {"p": value}


def test_malformed_properties_left_out() -> None:
    custom = {
        "bad_int": {"metadataType": "MetadataIntValue", "int_value": "three"},
        "not_a_value": "plain",
        "proto": {"metadataType": "MetadataProtoValue", "type": "x.Y", "proto_value": "AA=="},
        "ok": {"metadataType": "MetadataStringValue", "string_value": "yes"},
    }
    assert decode_properties(custom) == {"proto": "<x.Y value>", "ok": "yes"}
    assert decode_properties(["not", "a", "map"]) == {}


def test_property_text_none_when_empty_or_missing() -> None:
    custom = {"url": encode_property(""), "n": encode_property(7)}
    assert (property_text(custom, "url"), property_text(custom, "gone")) == (None, None)
    assert property_text(custom, "n") == "7"


def test_path_segments_escaped() -> None:
    assert api_path("registered_models", "a/b") == (
        "/api/model_registry/v1alpha3/registered_models/a%2Fb"
    )
    assert (
        seed_path("inference_services", "6") == "/api/model_registry/v1alpha1/inference_services/6"
    )


def test_client_is_a_protocol_client_only() -> None:
    """DESIGN.md Boundaries: the client imports no part; the registry knows no consumer."""
    assert imported_roots(REPO / "mr_client") & PARTS == set()
    assert "mr_client" not in imported_roots(REPO / "registry_local")
