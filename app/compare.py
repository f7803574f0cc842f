"""Two model versions side by side: the rows, diffs and chart data of the Registry page's
Compare tab (no Streamlit here, so tests import it alone).

Everything comes from what the registry holds: the versions' customProperties (metrics,
per-digit accuracy, confusion matrix, pinned requirements, lineage) and their artifacts.
A property that is missing or malformed shows as "—" (or, for the confusion matrix, as a
sentence saying what is wrong with it); it never stops the comparison.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.deployments import DEPLOYED, Deployment
from app.properties import format_number
from mr_client import ModelArtifact, ModelVersion

DIGITS = 10
MISSING = "—"
SAME, CHANGED, ONLY_A, ONLY_B = "same", "changed", "only in A", "only in B"
METRICS = (("test_accuracy", "test accuracy"), ("validation_accuracy", "validation accuracy"),
           ("parity_max_abs_diff", "ONNX vs Keras max abs diff"),
           ("training_seconds", "training seconds"))  # fmt: skip
LINEAGE = (("model_kind", "model kind"), ("training_params", "training parameters"),
           ("dataset_source", "dataset"), ("dataset_train_size", "training images"),
           ("pipeline_name", "pipeline"), ("pipeline_run_name", "pipeline run"),
           ("pipeline_run_id", "pipeline run id"))  # fmt: skip
FORMAT = (("onnx_opset", "ONNX opset"), ("onnx_ir_version", "ONNX IR version"),
          ("python_version", "python"))  # fmt: skip
Matrix = list[list[int]]


@dataclass(frozen=True)
class VersionFacts:
    """One version as the comparison reads it: typed properties and its artifacts."""

    id: str
    name: str
    state: str
    properties: dict[str, Any]
    artifacts: list[ModelArtifact] = field(default_factory=list)


@dataclass(frozen=True)
class Row:
    """One line of a side-by-side table: what, A's value, B's value and how they differ."""

    label: str
    a: str
    b: str

    @property
    def change(self) -> str:
        if self.a == self.b:
            return SAME
        if self.b == MISSING:
            return ONLY_A
        return ONLY_B if self.a == MISSING else CHANGED


@dataclass(frozen=True)
class Confusion:
    """A version's confusion matrix, or why it cannot be shown."""

    matrix: Matrix | None
    problem: str = ""


def version_facts(version: ModelVersion, artifacts: Iterable[ModelArtifact] = ()) -> VersionFacts:
    return VersionFacts(
        id=version.id,
        name=version.name or version.id,
        state=version.state,
        properties=version.properties,
        artifacts=list(artifacts),
    )


def shown(value: Any) -> str:
    """A property value as the tables show it ("—" when absent)."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool | int | float):
        return format_number(value)
    return str(value)


def property_rows(a: VersionFacts, b: VersionFacts, names: Sequence[tuple[str, str]]) -> list[Row]:
    """One row per (property, label), for the properties either version has."""
    return [Row(label, shown(a.properties.get(name)), shown(b.properties.get(name)))
            for name, label in names
            if name in a.properties or name in b.properties]  # fmt: skip


def metric_rows(a: VersionFacts, b: VersionFacts) -> list[Row]:
    return property_rows(a, b, METRICS)


def lineage_rows(a: VersionFacts, b: VersionFacts) -> list[Row]:
    return property_rows(a, b, LINEAGE) + [
        Row("made by", made_by(a), made_by(b)),
        Row("state", a.state, b.state),
    ]


def made_by(facts: VersionFacts) -> str:
    return "pipeline run" if facts.properties.get("pipeline_run_id") else "notebook or script"


def requirements(facts: VersionFacts) -> dict[str, str]:
    """{'tensorflow': '2.21.0', ...} from the version's pinned `requirements` text."""
    pins: dict[str, str] = {}
    for line in str(facts.properties.get("requirements") or "").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip()] = version.strip()
    return pins


def dependency_rows(a: VersionFacts, b: VersionFacts) -> list[Row]:
    """ONNX opset and IR version, python, then every pinned requirement of either version."""
    pins_a, pins_b = requirements(a), requirements(b)
    pinned = [Row(name, pins_a.get(name, MISSING), pins_b.get(name, MISSING))
              for name in sorted(set(pins_a) | set(pins_b))]  # fmt: skip
    return property_rows(a, b, FORMAT) + pinned


def artifact_summary(facts: VersionFacts) -> dict[str, str]:
    """label → value for the version's artifacts: URIs, sizes, sha256, modelcar digest."""
    props = facts.properties
    summary = {"model size (bytes)": shown(props.get("size_bytes")),
               "model sha256": shown(props.get("sha256")),
               "modelcar digest": shown(props.get("modelcar_digest")),
               "modelcar size (bytes)": shown(props.get("modelcar_size_bytes"))}  # fmt: skip
    for artifact in facts.artifacts:
        kind = "modelcar" if artifact.uri.startswith("oci://") else "S3"
        summary[f"{kind} artifact URI"] = shown(artifact.uri)
        deleted = bytes_deleted_at(artifact)
        if deleted:
            summary[f"{kind} artifact bytes"] = f"deleted {deleted}"
    return summary


def artifact_rows(a: VersionFacts, b: VersionFacts) -> list[Row]:
    left, right = artifact_summary(a), artifact_summary(b)
    labels = list(dict.fromkeys([*left, *right]))
    return [Row(label, left.get(label, MISSING), right.get(label, MISSING)) for label in labels]


def bytes_deleted_at(artifact: ModelArtifact) -> str | None:
    """When the artifact clean-up deleted the artifact's bytes (None when it has not)."""
    value = artifact.properties.get("bytes_deleted_at")
    return str(value) if value else None


def per_digit(facts: VersionFacts) -> list[float | None]:
    """accuracy_digit_0..9 (None for a digit that is missing or not a share in 0..1)."""
    found: list[float | None] = []
    for digit in range(DIGITS):
        value = facts.properties.get(f"accuracy_digit_{digit}")
        share = value if isinstance(value, int | float) and not isinstance(value, bool) else -1
        found.append(float(share) if 0 <= share <= 1 else None)
    return found


def digit_chart_rows(a: VersionFacts, b: VersionFacts) -> list[dict[str, Any]]:
    """Long-form rows (digit, version, accuracy) for one chart holding both versions."""
    return [{"digit": str(digit), "version": facts.name, "accuracy": accuracy}
            for facts in (a, b)
            for digit, accuracy in enumerate(per_digit(facts)) if accuracy is not None]  # fmt: skip


def confusion(facts: VersionFacts) -> Confusion:
    """The `confusion_matrix` property checked: JSON, 10 rows of 10 non-negative ints."""
    raw = facts.properties.get("confusion_matrix")
    if raw is None:
        return Confusion(None, "no confusion matrix recorded (published before it was)")
    try:
        matrix = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return Confusion(None, "the confusion_matrix property is not JSON")
    if not is_square_counts(matrix):
        return Confusion(None, "the confusion_matrix property is not 10×10 non-negative counts")
    return Confusion(matrix)


def is_square_counts(matrix: object) -> bool:
    if not isinstance(matrix, list) or len(matrix) != DIGITS:
        return False
    return all(isinstance(row, list) and len(row) == DIGITS and
               all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in row)
               for row in matrix)  # fmt: skip


def confusion_cells(matrix: Matrix) -> list[dict[str, Any]]:
    """One cell per (true, predicted) digit pair, for a heatmap."""
    return [{"true": str(t), "predicted": str(p), "count": matrix[t][p]}
            for t in range(DIGITS) for p in range(DIGITS)]  # fmt: skip


def digit_chart_spec(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Vega-Lite: grouped bars, accuracy per digit, one colour per version."""
    return {
        "data": {"values": rows},
        "mark": {"type": "bar", "tooltip": True},
        "encoding": {
            "x": {"field": "digit", "type": "nominal", "title": "true digit",
                  "axis": {"labelAngle": 0}},
            "xOffset": {"field": "version"},
            "y": {"field": "accuracy", "type": "quantitative", "title": "accuracy",
                  "scale": {"zero": False}},
            "color": {"field": "version", "type": "nominal"},
        },
    }  # fmt: skip


def confusion_spec(matrix: Matrix, title: str) -> dict[str, Any]:
    """Vega-Lite heatmap of a confusion matrix (log colour scale so mistakes show)."""
    return {
        "title": title,
        "data": {"values": confusion_cells(matrix)},
        "mark": {"type": "rect", "tooltip": True},
        "encoding": {
            "x": {"field": "predicted", "type": "ordinal", "title": "predicted digit",
                  "axis": {"labelAngle": 0}},
            "y": {"field": "true", "type": "ordinal", "title": "true digit"},
            "color": {"field": "count", "type": "quantitative",
                      "scale": {"type": "symlog", "scheme": "blues"}},
        },
    }  # fmt: skip


def diff_markdown(rows: Sequence[Row], a_name: str, b_name: str) -> str:
    """A Markdown table A | B | change; the rows that differ are highlighted."""
    lines = [f"| | A: {_cell(a_name)} | B: {_cell(b_name)} | |", "| --- | --- | --- | --- |"]
    for row in rows:
        mark = ":gray[same]" if row.change == SAME else f":orange-background[**{row.change}**]"
        lines.append(f"| {_cell(row.label)} | {_cell(row.a)} | {_cell(row.b)} | {mark} |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def default_pair(
    versions: Sequence[ModelVersion], deployments: Iterable[Deployment]
) -> tuple[int, int]:
    """Indexes into `versions` (oldest first) of A and B: the deployed version vs the newest;
    when the newest is the one deployed (or none is), the one before it vs the newest."""
    newest = len(versions) - 1
    ids = [v.id for v in versions]
    deployed = [ids.index(d.version_id) for d in deployments
                if d.desired_state == DEPLOYED and d.version_id in ids]  # fmt: skip
    older = [index for index in deployed if index != newest]
    return (older[0] if older else max(newest - 1, 0)), newest
