"""Registry entities turned into rows and text for the Registry page (no Streamlit here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from app.deployments import Deployment
from app.properties import ReadableProperty, format_number
from app.registry_client import Resource

ARTIFACT_FIELDS = (
    ("uri", "URI"),
    ("modelFormatName", "format"),
    ("modelFormatVersion", "format version"),
    ("storageKey", "storage key"),
    ("storagePath", "storage path"),
    ("state", "state"),
)

STATUS_COLOURS = {
    "serving": "green",
    "deploying": "orange",
    "undeploying": "orange",
    "undeployed": "gray",
    "failed": "red",
}


def format_time(millis: object) -> str:
    """A registry timestamp (milliseconds since the epoch, as a string) in UTC, to the minute."""
    try:
        moment = datetime.fromtimestamp(int(str(millis)) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return ""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def model_rows(models: Iterable[Resource]) -> list[dict[str, str]]:
    """One row per RegisteredModel for the models table."""
    return [
        {
            "id": str(model.get("id", "")),
            "name": str(model.get("name", "")),
            "state": str(model.get("state", "")),
            "owner": str(model.get("owner") or ""),
            "description": str(model.get("description") or ""),
            "created": format_time(model.get("createTimeSinceEpoch")),
        }
        for model in models
    ]


def version_rows(
    versions: Iterable[Resource],
    deployments: Iterable[Deployment],
    deleted: Mapping[str, str | None] | None = None,
) -> list[dict[str, str]]:
    """One row per ModelVersion, with the InferenceServices made for it and whether the
    artifact clean-up deleted its bytes (`deleted`: version id → when).

    Their states are left to the InferenceServices section, which refreshes itself; this
    table does not.
    """
    served = served_by(deployments)
    gone = deleted or {}
    return [
        {
            "id": str(version.get("id", "")),
            "name": str(version.get("name", "")),
            "state": str(version.get("state", "")),
            "artifacts": "artifacts deleted" if gone.get(str(version.get("id"))) else "stored",
            "author": str(version.get("author") or ""),
            "created": format_time(version.get("createTimeSinceEpoch")),
            "InferenceServices": served.get(str(version.get("id")), ""),
        }
        for version in versions
    ]


def served_by(deployments: Iterable[Deployment]) -> dict[str, str]:
    """version id → "mnist-e2e, ..." for the versions that have InferenceServices."""
    names: dict[str, list[str]] = {}
    for deployment in deployments:
        if deployment.version_id:
            names.setdefault(deployment.version_id, []).append(deployment.service_name)
    return {version_id: ", ".join(found) for version_id, found in names.items()}


def artifact_facts(artifact: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) for the artifact fields that are set: URI, format, storage, state."""
    return [(label, str(artifact[key])) for key, label in ARTIFACT_FIELDS if artifact.get(key)]


def properties_markdown(properties: Iterable[ReadableProperty]) -> str:
    """A two-column Markdown table of the short properties (numbers, digests, plain text)."""
    lines = ["| property | value |", "| --- | --- |"]
    for prop in properties:
        lines.append(f"| {_cell(prop.name)} | {_cell_value(prop)} |")
    return "\n".join(lines)


def _cell_value(prop: ReadableProperty) -> str:
    if prop.layout == "number":
        return _cell(format_number(prop.value))
    if prop.layout == "code":
        return f"`{_cell(str(prop.value))}`"
    return _cell(str(prop.value))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
