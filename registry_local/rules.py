"""What upstream's service and database enforce beyond the wire types, applied before a write.

- Names live in 255-character columns, and an entity owned by another (a ModelVersion by its
  RegisteredModel, an ExperimentRun by its Experiment, an InferenceService by its
  ServingEnvironment, a ServeModel by its InferenceService, an artifact by the version or run it
  was created in) is stored as `<owner id>:<name>`: its name may have 255 - len(owner id) - 1
  characters (upstream PR kubeflow/hub#790: "up to 250chars, assuming up to 10K
  RegisteredModels"). Upstream's database refuses longer ones; here it is a 400 that says why.
- An artifact created without a name gets a UUID, as upstream's `ensureArtifactName` does.
- A Metric must have a value; an ExperimentRun cannot end before it starts.

Sources: docs/conformance.md.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, MutableMapping
from typing import Any

from registry_local.errors import BadRequest
from registry_local.kinds import EXPERIMENT_RUN, METRIC, Kind
from registry_local.properties import MAX_NAME_LENGTH

_WORD_BOUNDARY = re.compile(r"(?<=[a-z])(?=[A-Z])|-")


def kind_words(kind: Kind) -> str:
    """How upstream's messages name a kind: `registered model`, `model artifact`, ..."""
    return _WORD_BOUNDARY.sub(" ", kind.name).lower()


def name_limit(owner_id: int) -> int:
    """How many characters a name may have under `owner_id` (0: not owned)."""
    return MAX_NAME_LENGTH - (len(str(owner_id)) + 1 if owner_id else 0)


def check_name_fits(kind: Kind, name: str | None, owner_id: int) -> None:
    limit = name_limit(owner_id)
    if name is not None and len(name) > limit:
        raise BadRequest(
            f"name has {len(name)} characters, more than the {limit} a {kind.name} may have "
            f"here: it is stored as '{owner_id}:<name>' in {MAX_NAME_LENGTH} characters"
        )


def name_new_artifact(kind: Kind, values: MutableMapping[str, Any]) -> None:
    """An artifact created without a name gets a UUID, as upstream."""
    if kind.is_artifact and values.get("name") is None:
        values["name"] = str(uuid.uuid4())


def check_posted(kind: Kind, values: Mapping[str, Any]) -> None:
    """Upstream refuses a Metric posted (created or upserted) without a value."""
    if kind is METRIC and values.get("metric_value") is None:
        raise BadRequest("metric value is required")


def check_consistent(kind: Kind, values: Mapping[str, Any]) -> None:
    """Rules across fields of the entity as it will be stored."""
    if kind is EXPERIMENT_RUN:
        start, end = values.get("start_time"), values.get("end_time")
        if start is not None and end is not None and end < start:
            raise BadRequest(
                f"endTimeSinceEpoch ({end}) cannot be less than startTimeSinceEpoch ({start})"
            )
