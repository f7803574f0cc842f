"""Rows and text for the Registry page."""

from __future__ import annotations

from app.deployments import Deployment
from app.properties import ReadableProperty
from app.registry_view import (
    artifact_facts,
    format_time,
    model_rows,
    properties_markdown,
    served_by,
    version_rows,
)
from mr_client import ModelArtifact, ModelVersion, RegisteredModel


def deployment(service: str, version_id: str | None, desired: str = "DEPLOYED") -> Deployment:
    return Deployment(service_id="6", service_name=service, model_id="2", model_name="MNIST",
                      version_id=version_id, version_name="v2", runtime="mmserver1",
                      desired_state=desired, observed_state="RUNNING",
                      observed_version_id=version_id, observed_reason="",
                      endpoint="http://127.0.0.1:8008")  # fmt: skip


def test_format_time_renders_epoch_millis_in_utc() -> None:
    assert format_time("1701547503000") == "2023-12-02 20:05 UTC"


def test_format_time_returns_empty_for_missing_or_bad_value() -> None:
    assert format_time(None) == ""
    assert format_time("yesterday") == ""


def test_model_rows_lists_models() -> None:
    wire = {"id": "2", "name": "MNIST", "state": "LIVE", "createTimeSinceEpoch": "0"}
    rows = model_rows([RegisteredModel.from_wire(wire)])
    assert rows == [{"id": "2", "name": "MNIST", "state": "LIVE", "owner": "", "description": "",
                     "created": "1970-01-01 00:00 UTC"}]  # fmt: skip


def test_version_rows_say_which_service_serves_each_version() -> None:
    versions = [ModelVersion(id="3", name="v1"), ModelVersion(id="4", name="v2")]
    rows = version_rows(versions, [deployment("mnist-e2e", "4")])
    assert [row["InferenceServices"] for row in rows] == ["", "mnist-e2e"]


def test_served_by_skips_services_without_version() -> None:
    assert served_by([deployment("latest-one", None)]) == {}


def test_artifact_facts_lists_set_fields_only() -> None:
    artifact = ModelArtifact.from_wire({"id": "1", "uri": "s3://models/MNIST/v2/model.onnx",
                                        "modelFormatName": "onnx", "modelFormatVersion": "1",
                                        "storageKey": "", "state": "LIVE"})  # fmt: skip
    assert artifact_facts(artifact) == [
        ("URI", "s3://models/MNIST/v2/model.onnx"),
        ("format", "onnx"),
        ("format version", "1"),
        ("state", "LIVE"),
    ]


def test_properties_markdown_escapes_pipes_and_formats_values() -> None:
    table = properties_markdown([
        ReadableProperty("accuracy", 0.97123, "number"),
        ReadableProperty("sha256", "ab" * 32, "code"),
        ReadableProperty("note", "a | b", "plain"),
    ])  # fmt: skip
    assert "| accuracy | 0.9712 |" in table
    assert f"| sha256 | `{'ab' * 32}` |" in table
    assert "| note | a \\| b |" in table
