"""The model repository: model name → loaded model, plus the index of every model it knows.

Touched only from the event loop, so plain dicts suffice; loads of one name are serialised
with a per-name lock. A failed reload leaves the previous version serving.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from serving.errors import BadRequest, ModelNotFound, ModelNotReady
from serving.loader import LoadSpec
from serving.model import OnnxModel
from serving.names import BadModelName, check_model_name


class ModelState(StrEnum):
    READY = "READY"
    LOADING = "LOADING"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass
class IndexEntry:
    """One row of `POST /v2/repository/index` (Triton's fields plus `owner`)."""

    name: str
    version: str
    state: ModelState
    reason: str = ""
    owner: str | None = None

    def as_dict(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "state": self.state.value,
            "reason": self.reason,
        }
        if self.owner is not None:
            row["owner"] = self.owner
        return row


def checked_name(name: str) -> str:
    """`name` when the server can hold it (`serving.names`), else a 400 saying why."""
    try:
        check_model_name(name)
    except BadModelName as exc:
        raise BadRequest(str(exc)) from None
    return name


@dataclass
class ModelRepository:
    """Name → serving model, and name → index entry (including unloaded and failed ones)."""

    models: dict[str, OnnxModel] = field(default_factory=dict)
    entries: dict[str, IndexEntry] = field(default_factory=dict)
    specs: dict[str, LoadSpec] = field(default_factory=dict)
    locks: dict[str, tuple[asyncio.Lock, int]] = field(default_factory=dict)
    before_load: dict[str, IndexEntry | None] = field(default_factory=dict)

    def get(self, name: str, version: str | None = None) -> OnnxModel:
        """The serving model; ModelNotReady while its first load runs, else ModelNotFound."""
        model = self.models.get(name)
        if model is None:
            raise self._absent(name)
        if version is not None and version != model.version:
            raise ModelNotFound(
                f"model {name!r} has no version {version!r} (serving version {model.version!r})"
            )
        return model

    def _absent(self, name: str) -> ModelNotFound | ModelNotReady:
        entry = self.entries.get(name)
        if entry is not None and entry.state is ModelState.LOADING:
            return ModelNotReady(f"model {name!r} is loading")
        if entry is not None and entry.reason:
            return ModelNotFound(f"model {name!r} is not loaded ({entry.reason})")
        return ModelNotFound(f"model {name!r} is not loaded")

    @contextlib.asynccontextmanager
    async def lock(self, name: str) -> AsyncIterator[None]:
        """Hold `name`'s lock (loads and unloads of one name run one at a time); the lock is
        forgotten once nobody holds or awaits it, so refused names leave nothing behind."""
        lock, users = self.locks.get(name, (asyncio.Lock(), 0))
        self.locks[name] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self.locks.pop(name)
            if users > 1:
                self.locks[name] = (lock, users - 1)

    def index(self, ready_only: bool = False) -> list[IndexEntry]:
        entries = sorted(self.entries.values(), key=lambda entry: entry.name)
        return [e for e in entries if e.state is ModelState.READY or not ready_only]

    def mark_loading(self, name: str, spec: LoadSpec) -> None:
        current = self.models.get(name)
        if current is None:
            self.before_load[name] = self.entries.get(name)
            self.entries[name] = IndexEntry(name, spec.version, ModelState.LOADING, "", spec.owner)
        else:
            self.entries[name].reason = f"loading version {spec.version!r}"

    def install(self, model: OnnxModel, spec: LoadSpec) -> None:
        self.before_load.pop(model.name, None)
        self.models[model.name] = model
        self.specs[model.name] = spec
        entry = IndexEntry(model.name, model.version, ModelState.READY, "", spec.owner)
        self.entries[model.name] = entry

    def mark_failed(self, name: str, spec: LoadSpec, reason: str) -> None:
        """A refused load: a serving model keeps serving (the reason on its entry); a name
        not serving gets its entry from before the load back, or none (the caller gets the
        reason): refused loads of new names cannot grow the index."""
        if name in self.models:
            self.entries[name].reason = f"loading version {spec.version!r} failed: {reason}"
            return
        before = self.before_load.pop(name, None)
        if before is None:
            self.entries.pop(name, None)
        else:
            self.entries[name] = before

    def unload(self, name: str) -> None:
        """Stop serving `name`; ModelNotFound when it is neither served nor known."""
        entry = self.entries.get(name)
        if entry is None:
            raise ModelNotFound(f"model {name!r} is not loaded")
        self.models.pop(name, None)
        entry.state = ModelState.UNAVAILABLE
        entry.reason = "unloaded"
