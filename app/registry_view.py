"""Registry entities turned into rows and text for the Registry page (no Streamlit here)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from app.deployments import Deployment
from app.properties import ReadableProperty, format_number
from mr_client import ModelArtifact, ModelVersion, RegisteredModel

ARTIFACT_FIELDS = (
    ("uri", "URI"),
    ("model_format_name", "format"),
    ("model_format_version", "format version"),
    ("storage_key", "storage key"),
    ("storage_path", "storage path"),
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


def model_rows(models: Iterable[RegisteredModel]) -> list[dict[str, str]]:
    """One row per RegisteredModel for the models table."""
    return [
        {
            "id": model.id,
            "name": model.name,
            "state": model.state,
            "owner": model.owner,
            "description": model.description,
            "created": format_time(model.created),
        }
        for model in models
    ]


def version_rows(
    versions: Iterable[ModelVersion],
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
            "id": version.id,
            "name": version.name,
            "state": version.state,
            "artifacts": "artifacts deleted" if gone.get(version.id) else "stored",
            "author": version.author,
            "created": format_time(version.created),
            "InferenceServices": served.get(version.id, ""),
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


def artifact_facts(artifact: ModelArtifact) -> list[tuple[str, str]]:
    """(label, value) for the artifact fields that are set: URI, format, storage, state."""
    found = [(label, getattr(artifact, key)) for key, label in ARTIFACT_FIELDS]
    return [(label, str(value)) for label, value in found if value]


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
