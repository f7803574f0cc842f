"""What the reconcile loop needs from a serving target (the local server, or KServe).

A target observes what it runs for this controller (a snapshot, read once per pass), makes
one InferenceService serve a resolved model, stops it, and removes what no service wants.
`deploy` reports what it saw as an outcome: Ready (with the endpoint URL), Failed (with the
reason), or Pending (nothing to record yet). The loop turns outcomes into ServeModel records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from serving.controller.registry import InferenceService
from serving.controller.resolve import ResolvedModel


class TargetUnavailable(Exception):
    """The target could not be read or changed right now; the pass tries again later."""


@dataclass(frozen=True)
class Ready:
    """The service serves the model; `url` is its Open Inference Protocol model URL."""

    url: str


@dataclass(frozen=True)
class Failed:
    """The model cannot be served; `retry_later` backs off before the target acts again."""

    reason: str
    retry_later: bool = True


@dataclass(frozen=True)
class Pending:
    """Under way (created, updated, loading): nothing to record yet."""

    detail: str = ""


Outcome = Ready | Failed | Pending
Snapshot = TypeVar("Snapshot")


class ServingTarget(Protocol[Snapshot]):
    """A place models are served: `python -m serving`, or KServe InferenceServices."""

    component: str
    """How faults of this target are named in the log ("inference server", ...)."""

    def observe(self) -> Snapshot:
        """What the target runs for this controller now (raises TargetUnavailable)."""
        ...

    def deploy(self, service: InferenceService, model: ResolvedModel, seen: Snapshot) -> Outcome:
        """Make `service` serve `model` (or report how far it got)."""
        ...

    def undeploy(self, service: InferenceService, seen: Snapshot) -> None:
        """Stop serving `service` if this controller serves it."""
        ...

    def remove_orphans(self, services: Sequence[InferenceService], seen: Snapshot) -> list[str]:
        """Stop what this controller serves for no service in `services`; returns names."""
        ...

    def close(self) -> None: ...
