"""Comparing two versions: diff rows, chart data, confusion matrices and the default pair."""

from __future__ import annotations

import json
from typing import Any

import pytest

from app.compare import (
    CHANGED,
    MISSING,
    ONLY_A,
    ONLY_B,
    SAME,
    artifact_rows,
    confusion,
    confusion_cells,
    default_pair,
    dependency_rows,
    diff_markdown,
    digit_chart_rows,
    lineage_rows,
    metric_rows,
    per_digit,
    version_facts,
)
from app.deployments import Deployment
from mr_client import ModelArtifact, ModelVersion


def value(v: Any) -> dict[str, Any]:
    if isinstance(v, float):
        return {"metadataType": "MetadataDoubleValue", "double_value": v}
    if isinstance(v, int):
        return {"metadataType": "MetadataIntValue", "int_value": str(v)}
    return {"metadataType": "MetadataStringValue", "string_value": v}


def version(version_id: str, name: str, state: str = "LIVE", **props: Any) -> ModelVersion:
    custom = {k: value(v) for k, v in props.items()}
    wire = {"id": version_id, "name": name, "state": state, "customProperties": custom}
    return ModelVersion.from_wire(wire)


IDENTITY = [[100 if t == p else 0 for p in range(10)] for t in range(10)]
DENSE = version("3", "v1", onnx_opset=13, onnx_ir_version=8, python_version="3.11.9",
                requirements="# pins\ntensorflow==2.21.0\nnumpy==2.4.6\ntf2onnx==1.17.0\n",
                test_accuracy=0.9712, accuracy_digit_0=0.99, accuracy_digit_9=0.95,
                confusion_matrix=json.dumps(IDENTITY), model_kind="dense", sha256="a" * 64,
                size_bytes=410_000)  # fmt: skip
CNN = version("4", "v2", onnx_opset=17, onnx_ir_version=8, python_version="3.11.9",
              requirements="tensorflow==2.21.0\nnumpy==2.4.7\nonnx==1.19.0\n",
              test_accuracy=0.9871, accuracy_digit_0=0.995, model_kind="cnn",
              pipeline_run_id="run-1", pipeline_run_name="mnist-cnn", sha256="b" * 64,
              modelcar_digest="sha256:" + "c" * 64)  # fmt: skip


def rows_by_label(rows: list[Any]) -> dict[str, Any]:
    return {row.label: row for row in rows}


def test_dependency_rows_say_same_changed_and_only_in_one() -> None:
    rows = rows_by_label(dependency_rows(version_facts(DENSE), version_facts(CNN)))
    assert (rows["ONNX opset"].a, rows["ONNX opset"].b, rows["ONNX opset"].change) == (
        "13", "17", CHANGED)  # fmt: skip
    assert rows["ONNX IR version"].change == SAME
    assert rows["python"].change == SAME
    assert rows["tensorflow"].change == SAME
    assert (rows["numpy"].a, rows["numpy"].b, rows["numpy"].change) == ("2.4.6", "2.4.7", CHANGED)
    assert (rows["tf2onnx"].b, rows["tf2onnx"].change) == (MISSING, ONLY_A)
    assert (rows["onnx"].a, rows["onnx"].change) == (MISSING, ONLY_B)


def test_diff_markdown_highlights_changes_only() -> None:
    rows = dependency_rows(version_facts(DENSE), version_facts(CNN))
    table = diff_markdown(rows, "v1", "v2")
    lines = {line.split("|")[1].strip(): line for line in table.splitlines()[2:]}
    assert ":orange-background[**changed**]" in lines["numpy"]
    assert ":orange-background[**only in A**]" in lines["tf2onnx"]
    assert ":gray[same]" in lines["tensorflow"]
    assert table.splitlines()[0] == "| | A: v1 | B: v2 | |"


def test_metric_artifact_and_lineage_rows_compare_what_either_has() -> None:
    a, b = version_facts(DENSE), version_facts(CNN)
    metrics = rows_by_label(metric_rows(a, b))
    assert (metrics["test accuracy"].a, metrics["test accuracy"].b) == ("0.9712", "0.9871")
    assert "validation accuracy" not in metrics  # neither version has it
    artifacts = rows_by_label(artifact_rows(a, b))
    assert artifacts["model sha256"].change == CHANGED
    assert artifacts["modelcar digest"].change == ONLY_B
    assert artifacts["model size (bytes)"].a == "410,000"
    lineage = rows_by_label(lineage_rows(a, b))
    assert (lineage["made by"].a, lineage["made by"].b) == ("notebook or script", "pipeline run")
    assert lineage["pipeline run"].b == "mnist-cnn"


def test_artifact_rows_show_deleted_bytes() -> None:
    deleted = ModelArtifact.from_wire({"id": "1", "uri": "s3://models/MNIST/v1/model.onnx",
        "customProperties": {"bytes_deleted_at": value("2026-12-06T12:00:00Z")}})  # fmt: skip
    rows = rows_by_label(artifact_rows(version_facts(DENSE, [deleted]), version_facts(CNN)))
    assert rows["S3 artifact bytes"].a == "deleted 2026-12-06T12:00:00Z"


def test_digit_chart_rows_hold_both_versions_in_one_long_table() -> None:
    rows = digit_chart_rows(version_facts(DENSE), version_facts(CNN))
    assert {"digit": "9", "version": "v1", "accuracy": 0.95} in rows
    assert {"digit": "0", "version": "v2", "accuracy": 0.995} in rows
    assert len(rows) == 3  # v2 has no digit 9 recorded: no bar, no made-up number


@pytest.mark.parametrize(
    "raw",
    [
        value(1.5),
        value(-0.1),
        value("high"),
        value(True),
        {"metadataType": "MetadataDoubleValue", "double_value": "not a number"},
        "not a MetadataValue",
    ],  # fmt: skip
    ids=["above 1", "negative", "text", "bool", "malformed double", "not a mapping"],
)
def test_per_digit_skips_values_that_are_not_shares(raw: Any) -> None:
    wire = {"id": "1", "name": "v1", "customProperties": {"accuracy_digit_4": raw}}
    facts = version_facts(ModelVersion.from_wire(wire))
    assert per_digit(facts) == [None] * 10


def test_confusion_reads_a_10x10_json_matrix() -> None:
    found = confusion(version_facts(DENSE))
    assert found.matrix == IDENTITY
    cells = confusion_cells(IDENTITY)
    assert len(cells) == 100
    assert {"true": "3", "predicted": "3", "count": 100} in cells


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "no confusion matrix recorded"),
        ("[[1, 2], [3", "is not JSON"),
        (json.dumps([[1] * 10] * 9), "not 10×10"),
        (json.dumps([[1] * 9] * 10), "not 10×10"),
        (json.dumps([[-1] * 10] * 10), "non-negative counts"),
        (json.dumps([[0.5] * 10] * 10), "non-negative counts"),
        (json.dumps({"rows": 10}), "not 10×10"),
    ],
    ids=["missing", "not json", "9 rows", "9 columns", "negative", "floats", "object"],
)
def test_confusion_says_what_is_wrong_with_a_bad_matrix(raw: str | None, problem: str) -> None:
    props = {} if raw is None else {"confusion_matrix": raw}
    found = confusion(version_facts(version("1", "v1", **props)))
    assert found.matrix is None
    assert problem in found.problem


def test_version_facts_of_a_version_without_properties() -> None:
    facts = version_facts(ModelVersion.from_wire({"id": "9"}))
    assert (facts.name, facts.state, facts.properties) == ("9", "LIVE", {})
    assert dependency_rows(facts, facts) == []
    assert [row.change for row in lineage_rows(facts, facts)] == [SAME, SAME]


def deployment(version_id: str, desired: str = "DEPLOYED") -> Deployment:
    return Deployment("6", "mnist-e2e", "2", "MNIST", version_id, "v", "mmserver1", desired,
                      "RUNNING", version_id, "", "http://127.0.0.1:8008")  # fmt: skip


VERSIONS = [ModelVersion.from_wire({"id": version_id}) for version_id in ("3", "4", "5")]


@pytest.mark.parametrize(
    ("deployments", "pair"),
    [([deployment("3")], (0, 2)), ([deployment("5")], (1, 2)), ([], (1, 2)),
     ([deployment("3", "UNDEPLOYED")], (1, 2)), ([deployment("99")], (1, 2))],
    ids=["deployed older", "newest deployed", "none deployed", "undeployed", "other model"],
)  # fmt: skip
def test_default_pair_is_the_deployed_version_vs_the_newest(
    deployments: list[Deployment], pair: tuple[int, int]
) -> None:
    assert default_pair(VERSIONS, deployments) == pair
