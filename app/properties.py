"""customProperties made readable: typed values out of MetadataValues, grouped by meaning.

The registry stores each custom property as a MetadataValue (`{"metadataType":
"MetadataStringValue", "string_value": "..."}` and so on; `mr_client.properties` decodes
them). The Registry page shows them grouped as metrics, dependencies, integrity (sha256,
size) and the rest, with JSON and multi-line text (pinned requirements) laid out instead of
printed as one long string.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mr_client.properties import decode_property

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Integrity", ("sha256", "digest", "checksum", "size_bytes", "file_size", "parity",
                   "deleted")),
    ("Metrics", ("accuracy", "confusion", "loss", "metric", "precision", "recall", "f1", "auc",
                 "seconds")),
    ("Parameters", ("epoch", "learning_rate", "batch", "param", "seed", "threshold", "kind")),
    ("Lineage", ("dataset", "pipeline", "run_id", "notebook", "source", "git", "commit",
                 "_uri")),
    ("Dependencies", ("requirement", "dependenc", "python", "opset", "ir_version", "onnx",
                      "tensorflow", "keras", "numpy", "producer", "framework", "signature",
                      "platform")),
)  # fmt: skip
"""Groups tried in this order: the first whose word appears in a property's name wins."""
DISPLAY_ORDER = ("Metrics", "Dependencies", "Integrity", "Parameters", "Lineage", "Other")
OTHER = "Other"


@dataclass(frozen=True)
class ReadableProperty:
    """One custom property: its name, its typed value and how to lay it out."""

    name: str
    value: Any
    layout: str
    """One of `number`, `json` (dict or list), `text` (multi-line), `code` (digest), `plain`."""


def readable(name: str, value: Mapping[str, Any]) -> ReadableProperty:
    """One property with the layout that shows it best (a malformed one says so, as text)."""
    try:
        typed = decode_property(value)
    except (TypeError, ValueError):
        return ReadableProperty(name, f"(malformed {value.get('metadataType')}: {dict(value)})",
                                "plain")  # fmt: skip
    if isinstance(typed, bool | int | float):
        return ReadableProperty(name, typed, "number")
    if isinstance(typed, dict | list):
        return ReadableProperty(name, typed, "json")
    text = str(typed)
    parsed = _json_container(text)
    if parsed is not None:
        return ReadableProperty(name, parsed, "json")
    if "\n" in text.strip():
        return ReadableProperty(name, text.strip(), "text")
    if _looks_like_digest(text):
        return ReadableProperty(name, text, "code")
    return ReadableProperty(name, text, "plain")


def _json_container(text: str) -> dict[str, Any] | list[Any] | None:
    if not text.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict | list) else None


def _looks_like_digest(text: str) -> bool:
    hex_part = text.split(":", 1)[-1]
    return len(hex_part) >= 32 and all(c in "0123456789abcdefABCDEF" for c in hex_part)


def group_of(name: str) -> str:
    """Which group a property belongs to, from words in its name."""
    lowered = name.lower()
    for group, words in GROUPS:
        if any(word in lowered for word in words):
            return group
    return OTHER


def grouped_properties(custom: Mapping[str, Any] | None) -> dict[str, list[ReadableProperty]]:
    """The customProperties of an entity by group in DISPLAY_ORDER, each sorted by name.

    Groups without properties are left out; values that are not MetadataValues are skipped.
    """
    groups: dict[str, list[ReadableProperty]] = {}
    for name in sorted(custom or {}):
        value = (custom or {})[name]
        if isinstance(value, Mapping):
            groups.setdefault(group_of(name), []).append(readable(name, value))
    return {group: groups[group] for group in DISPLAY_ORDER if group in groups}


def format_number(value: bool | int | float) -> str:
    """A metric or count as people read it: 0.9712, 1,234, true."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value:,}"
    if value != 0 and abs(value) < 0.001:
        return f"{value:.3g}"
    return f"{value:.4f}" if abs(value) < 1000 else f"{value:,.1f}"
