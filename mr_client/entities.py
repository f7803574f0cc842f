"""The registry's entities as the consumers read them: frozen, typed, ids as strings.

Each is built from the JSON document the REST API answers (`from_wire`) and keeps its
customProperties in the wire's MetadataValue shape (`custom_properties`), so an update
can send them back unchanged; `properties` gives them as plain Python values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mr_client.properties import decode_properties, property_text

Document = Mapping[str, Any]
LIVE = "LIVE"
DEPLOYED = "DEPLOYED"


def _text(document: Document, key: str, default: str = "") -> str:
    value = document.get(key)
    return default if value in (None, "") else str(value)


def _optional(document: Document, key: str) -> str | None:
    value = document.get(key)
    return None if value in (None, "") else str(value)


def _custom(document: Document) -> dict[str, Any]:
    custom = document.get("customProperties")
    return dict(custom) if isinstance(custom, Mapping) else {}


@dataclass(frozen=True)
class _Entity:
    """What every registry entity has."""

    id: str
    name: str
    description: str = ""
    created: str = ""
    """createTimeSinceEpoch: with `id`, tells a recreated database from a restarted one."""
    updated: str = ""
    custom_properties: dict[str, Any] = field(default_factory=dict, compare=False)

    @staticmethod
    def common(document: Document) -> dict[str, Any]:
        return {"id": _text(document, "id"), "name": _text(document, "name"),
                "description": _text(document, "description"),
                "created": _text(document, "createTimeSinceEpoch"),
                "updated": _text(document, "lastUpdateTimeSinceEpoch"),
                "custom_properties": _custom(document)}  # fmt: skip

    @property
    def properties(self) -> dict[str, Any]:
        """customProperties as plain values (malformed ones left out)."""
        return decode_properties(self.custom_properties)

    def property_text(self, name: str) -> str | None:
        return property_text(self.custom_properties, name)


@dataclass(frozen=True)
class RegisteredModel(_Entity):
    owner: str = ""
    readme: str = ""
    state: str = LIVE

    @classmethod
    def from_wire(cls, document: Document) -> RegisteredModel:
        return cls(**cls.common(document), owner=_text(document, "owner"),
                   readme=_text(document, "readme"),
                   state=_text(document, "state", LIVE))  # fmt: skip


@dataclass(frozen=True)
class ModelVersion(_Entity):
    registered_model_id: str = ""
    state: str = LIVE
    author: str = ""

    @classmethod
    def from_wire(cls, document: Document) -> ModelVersion:
        return cls(**cls.common(document),
                   registered_model_id=_text(document, "registeredModelId"),
                   state=_text(document, "state", LIVE),
                   author=_text(document, "author"))  # fmt: skip


@dataclass(frozen=True)
class ModelArtifact(_Entity):
    artifact_type: str = "model-artifact"
    uri: str = ""
    model_format_name: str | None = None
    model_format_version: str | None = None
    storage_key: str | None = None
    storage_path: str | None = None
    state: str = ""

    @classmethod
    def from_wire(cls, document: Document) -> ModelArtifact:
        return cls(**cls.common(document),
                   artifact_type=_text(document, "artifactType", "model-artifact"),
                   uri=_text(document, "uri"),
                   model_format_name=_optional(document, "modelFormatName"),
                   model_format_version=_optional(document, "modelFormatVersion"),
                   storage_key=_optional(document, "storageKey"),
                   storage_path=_optional(document, "storagePath"),
                   state=_text(document, "state"))  # fmt: skip


@dataclass(frozen=True)
class ServingEnvironment(_Entity):
    @classmethod
    def from_wire(cls, document: Document) -> ServingEnvironment:
        return cls(**cls.common(document))


@dataclass(frozen=True)
class InferenceService(_Entity):
    desired_state: str = DEPLOYED
    runtime: str | None = None
    registered_model_id: str = ""
    model_version_id: str | None = None
    serving_environment_id: str = ""

    @classmethod
    def from_wire(cls, document: Document) -> InferenceService:
        return cls(**cls.common(document),
                   desired_state=_text(document, "desiredState", DEPLOYED),
                   runtime=_optional(document, "runtime"),
                   registered_model_id=_text(document, "registeredModelId"),
                   model_version_id=_optional(document, "modelVersionId"),
                   serving_environment_id=_text(document, "servingEnvironmentId"))  # fmt: skip

    @property
    def identity(self) -> tuple[str, str]:
        """Stable across registry restarts, different if the database was replaced."""
        return self.id, self.created


@dataclass(frozen=True)
class ServeModel(_Entity):
    """What a controller observed of an InferenceService (RUNNING, COMPLETE, FAILED)."""

    model_version_id: str = ""
    last_known_state: str = ""

    @classmethod
    def from_wire(cls, document: Document) -> ServeModel:
        return cls(**cls.common(document), model_version_id=_text(document, "modelVersionId"),
                   last_known_state=_text(document, "lastKnownState"))  # fmt: skip
