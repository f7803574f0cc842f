"""Artifacts attached to model versions and experiment runs, and experiment metric history.

`POST /model_versions/{id}/artifacts` and `POST /experiment_runs/{id}/artifacts` are upserts:
a body with an `id` links (and updates) an existing artifact, a body without one creates a
new artifact in that parent. In an experiment run, logging a metric or parameter whose name
already exists updates it, and every metric write is appended to the run's metric history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select

from registry_local.errors import BadRequest, NotFound, shown
from registry_local.filter_sql import COMMON_BUILTINS, FilterScope, compile_filter
from registry_local.kinds import (
    ARTIFACT_KINDS,
    ARTIFACT_STATES,
    EXPERIMENT_RUN,
    METRIC,
    Field,
    FieldType,
    Kind,
)
from registry_local.listing import ListQuery, Page, make_page, page_params, paginate
from registry_local.rules import name_new_artifact
from registry_local.schema import artifacts, attributions, metric_history
from registry_local.store import (
    Row,
    Store,
    fetch,
    insert_entity,
    now_ms,
    require,
    update_entity,
    with_defaults,
)
from registry_local.wire import EMPTY_MAP, Changes

STEP_IDS = re.compile(r"[0-9]{1,9}(?:,[0-9]{1,9})*")
ALL_ARTIFACTS = tuple(ARTIFACT_KINDS.values())
HISTORY_FIELDS: dict[str, Field] = {
    "id": COMMON_BUILTINS["id"],
    "name": COMMON_BUILTINS["name"],
    "createTimeSinceEpoch": COMMON_BUILTINS["createTimeSinceEpoch"],
    "lastUpdateTimeSinceEpoch": COMMON_BUILTINS["lastUpdateTimeSinceEpoch"],
    "value": Field("value", "metric_value", FieldType.DOUBLE),
    "timestamp": Field("timestamp", "timestamp", FieldType.INT64),
    "step": Field("step", "step", FieldType.INTEGER),
    "experimentRunId": Field("experimentRunId", "experiment_run_id", FieldType.REF),
    "state": Field("state", "state", FieldType.ENUM, ARTIFACT_STATES),
}


def upsert_artifact(
    store: Store, kind: Kind, changes: Changes, parent: Kind, parent_id: int
) -> tuple[Row, bool]:
    """Create or update an artifact in a version / run; True when it was created."""
    with store.transaction(kind, changes.values) as connection:
        context = require(connection, parent, parent_id)
        current = _existing(connection, kind, changes, parent, parent_id)
        if current is None:
            row = _create_in(connection, kind, changes, parent, context)
        else:
            row = update_entity(connection, kind, current, changes)
        _attach(connection, parent_id, row["id"])
        if kind is METRIC and parent is EXPERIMENT_RUN:
            record_metric(connection, parent_id, row)
    return row, current is None


def _existing(
    connection: Connection, kind: Kind, changes: Changes, parent: Kind, parent_id: int
) -> Row | None:
    if changes.entity_id is not None:
        current = find_linkable(connection, kind, changes.entity_id)
        if current["kind"] != kind.name:
            raise BadRequest(
                f"artifact {changes.entity_id} is a {current['kind']}, not {kind.name}"
            )
        return current
    name = changes.values.get("name")
    if parent is not EXPERIMENT_RUN or name is None:
        return None
    statement = select(artifacts).where(
        artifacts.c.kind == kind.name,
        artifacts.c.parent_key == parent_id,
        artifacts.c.name == name,
    )
    row = connection.execute(statement.with_for_update()).first()
    return None if row is None else row._mapping


def find_linkable(connection: Connection, kind: Kind, artifact_id: int) -> Row:
    """The artifact an upsert names by id; upstream answers 400 when there is none."""
    try:
        return fetch(connection, ALL_ARTIFACTS, artifact_id, lock=True)
    except NotFound:
        raise BadRequest(
            f"no artifact with id {artifact_id} exists to link here; leave 'id' out to "
            f"create a new {kind.name}"
        ) from None


def _create_in(
    connection: Connection, kind: Kind, changes: Changes, parent: Kind, context: Row
) -> Row:
    values = with_defaults(kind, changes.values)
    name_new_artifact(kind, values)
    if parent is EXPERIMENT_RUN:
        values["experiment_id"] = context["parent_id"]
        values["experiment_run_id"] = context["id"]
    return insert_entity(connection, kind, values, changes.custom, parent_key=context["id"])


def _attach(connection: Connection, context_id: int, artifact_id: int) -> None:
    link = attributions.c
    statement = select(link.artifact_id).where(
        link.context_id == context_id, link.artifact_id == artifact_id
    )
    if connection.execute(statement).first() is None:
        connection.execute(
            insert(attributions), {"context_id": context_id, "artifact_id": artifact_id}
        )


def record_metric(connection: Connection, run_id: int, metric: Row) -> None:
    timestamp = now_ms()
    connection.execute(
        insert(metric_history),
        {
            "experiment_run_id": run_id,
            "metric_id": metric["id"],
            "name": metric["name"] or "",
            "metric_value": metric["metric_value"],
            "timestamp": metric["timestamp"] if metric["timestamp"] is not None else timestamp,
            "step": metric["step"] if metric["step"] is not None else 0,
            "state": metric["state"],
            "create_time": timestamp,
            "update_time": timestamp,
        },
    )


def metric_history_page(
    store: Store, query: ListQuery, run_id: int | None, step_ids: Sequence[int] | None
) -> Page:
    """Metric history of one run (404 if it does not exist) or of every run."""
    table = metric_history
    statement = select(table)
    if query.name is not None:
        statement = statement.where(table.c.name == query.name)
    if step_ids:
        statement = statement.where(table.c.step.in_(list(step_ids)))
    if query.filter is not None:
        scope = FilterScope(table, None, (), HISTORY_FIELDS)
        statement = statement.where(compile_filter(query.filter, scope))
    with store.engine.connect() as connection:
        if run_id is not None:
            require(connection, EXPERIMENT_RUN, run_id)
            statement = statement.where(table.c.experiment_run_id == run_id)
        paged = paginate(
            statement,
            table,
            query,
            after=query.after is not None,
            limit=query.page_size is not None,
        )
        rows = connection.execute(paged, page_params(query)).mappings().all()
    return make_page(rows, query)


def encode_history(row: Mapping[str, Any]) -> dict[str, Any]:
    """A metric history entry, rendered as the Metric it recorded."""
    entity: dict[str, Any] = {
        "id": str(row["id"]),
        "artifactType": "metric",
        "name": row["name"],
        "step": row["step"],
        "timestamp": str(row["timestamp"]),
        "experimentRunId": str(row["experiment_run_id"]),
        "createTimeSinceEpoch": str(row["create_time"]),
        "lastUpdateTimeSinceEpoch": str(row["update_time"]),
        "customProperties": EMPTY_MAP,
    }
    for wire, column in (("value", "metric_value"), ("state", "state")):
        if row[column] is not None:
            entity[wire] = row[column]
    return entity


def parse_step_ids(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    if not STEP_IDS.fullmatch(text):
        raise BadRequest(f"stepIds must be comma-separated integers, got {shown(text)}")
    return tuple(int(part) for part in text.split(","))
