"""The Registry page's Compare tab: two versions side by side (rows and charts: app.compare)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from app.compare import (
    Row,
    VersionFacts,
    artifact_rows,
    confusion,
    confusion_spec,
    default_pair,
    dependency_rows,
    diff_markdown,
    digit_chart_rows,
    digit_chart_spec,
    lineage_rows,
    metric_rows,
    version_facts,
)
from app.deployments import Deployment
from mr_client import ModelArtifact, ModelVersion

WRAP_CELLS = (
    "<style>.st-key-compare td:nth-child(2), .st-key-compare td:nth-child(3) "
    "{word-break: break-all;} .st-key-compare td:nth-child(4) {white-space: nowrap;}</style>"
)
"""Digests and URIs are long words: let the comparison's table cells break them."""


def compare_section(
    model_id: str,
    versions: list[ModelVersion],
    artifacts: dict[str, list[ModelArtifact]],
    deployments: list[Deployment],
) -> None:
    """Pick A and B (at first: the deployed version vs the newest), then compare them."""
    if len(versions) < 2:
        st.info("Comparing needs two versions; this model has fewer (archived ones included "
                "only with “Show archived versions”).")  # fmt: skip
        return
    first_a, first_b = default_pair(versions, deployments)
    names = [f"{v.name} (version id {v.id})" for v in versions]
    pick_a, pick_b = st.columns(2)
    a = pick_a.selectbox("Version A", range(len(versions)), index=first_a,
                         format_func=names.__getitem__, key=f"compare-a-{model_id}")  # fmt: skip
    b = pick_b.selectbox("Version B", range(len(versions)), index=first_b,
                         format_func=names.__getitem__, key=f"compare-b-{model_id}")  # fmt: skip
    facts = [version_facts(versions[i], artifacts.get(versions[i].id, [])) for i in (a, b)]
    with st.container(key="compare"):
        st.html(WRAP_CELLS)
        compare_versions(facts[0], facts[1])


def compare_versions(a: VersionFacts, b: VersionFacts) -> None:
    table("Metrics", metric_rows(a, b), a, b)
    st.markdown("**Accuracy per digit** on the 10k MNIST test set")
    rows = digit_chart_rows(a, b)
    if rows:
        chart(digit_chart_spec(rows), "digit-chart")
    else:
        st.info("Neither version has per-digit accuracy (published before it was recorded).")
    st.markdown("**Confusion matrices** (row: true digit, column: predicted)")
    for column, facts in zip(st.columns(2), (a, b), strict=True):
        with column:
            heatmap(facts)
    table("Dependencies", dependency_rows(a, b), a, b)
    table("Artifacts", artifact_rows(a, b), a, b)
    table("Lineage", lineage_rows(a, b), a, b)


def table(title: str, rows: list[Row], a: VersionFacts, b: VersionFacts) -> None:
    st.markdown(f"**{title}**")
    if rows:
        st.markdown(diff_markdown(rows, a.name, b.name))
    else:
        st.caption("Neither version records any.")


def heatmap(facts: VersionFacts) -> None:
    found = confusion(facts)
    if found.matrix is None:
        st.warning(f"{facts.name}: {found.problem}.", icon=":material/grid_off:")
        return
    chart(confusion_spec(found.matrix, facts.name), f"confusion-{facts.id}")


def chart(spec: dict[str, Any], name: str) -> None:
    with st.container(key=name):
        st.vega_lite_chart(spec, use_container_width=True)
