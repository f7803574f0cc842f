"""The registry store: create, get, update, list and find entities of every kind.

Protocol-neutral: it takes validated `Changes` and `ListQuery` objects and returns row
mappings (column name -> value); `wire.py` renders them. Every write is one transaction, so a
rejected request (409, 404 on a reference) leaves the database as it was.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from registry_local.errors import BadRequest, Conflict, NotFound
from registry_local.kinds import ALL_KINDS, FieldType, Kind
from registry_local.listing import ListQuery, Page, make_page
from registry_local.properties import CustomProperties
from registry_local.rules import check_consistent, check_name_fits, kind_words, name_new_artifact
from registry_local.schema import properties
from registry_local.statements import (
    ATTRIBUTED_PARENTS,
    REFERENCE,
    TABLES,
    by_id,
    insert_into,
    list_statement,
    names,
    parent_row,
)
from registry_local.wire import Changes

Row = Mapping[Any, Any]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Scope:
    """Restricts a list or find to the children of one entity (404 if it does not exist)."""

    parent: Kind
    parent_id: int

    @property
    def via_attribution(self) -> bool:
        """Artifacts belong to versions and runs through the attributions table."""
        return self.parent.name in ATTRIBUTED_PARENTS


def describe(kinds: Sequence[Kind]) -> str:
    """The kind(s) as upstream's not-found messages name them."""
    if len(kinds) > 1:
        return "artifact"
    return kinds[0].name if kinds[0].name == "InferenceService" else kind_words(kinds[0])


def not_found(words: str, entity_id: int) -> NotFound:
    """Upstream's words: `no registered model found for id 9: not found`."""
    return NotFound(f"no {words} found for id {entity_id}: not found")


class Store:
    """All reads and writes of registry entities."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def ping(self) -> None:
        with self.engine.connect() as connection:
            connection.execute(select(1))

    # -- reads ----------------------------------------------------------------------------

    def get(self, kinds: Sequence[Kind], entity_id: int) -> Row:
        with self.engine.connect() as connection:
            return fetch(connection, kinds, entity_id)

    def list(self, kinds: Sequence[Kind], query: ListQuery, scope: Scope | None = None) -> Page:
        statement, params = list_statement(kinds, query, scope.parent if scope else None)
        with self.engine.connect() as connection:
            if scope is not None:
                params["parent_id"] = scope.parent_id
                if scope.via_attribution:
                    require(connection, scope.parent, scope.parent_id)
            rows = connection.execute(statement, params).mappings().all()
            if scope is not None and not rows:
                # A child row names its parent, which can only be of the parent kind, so the
                # parent check is needed only when there are no children (404 vs empty list).
                require(connection, scope.parent, scope.parent_id)
        return make_page(rows, query)

    def find(self, kinds: Sequence[Kind], query: ListQuery, scope: Scope | None) -> Row:
        """The single entity matching name / externalId / parent: 404 on none or several."""
        if query.name is None and query.external_id is None and scope is None:
            raise BadRequest("give at least one of name, externalId, parentResourceId")
        two = replace(query, page_size=1, after=None)  # LIMIT 2: is there more than one?
        statement, params = list_statement(kinds, two, scope.parent if scope else None)
        if scope is not None:
            params["parent_id"] = scope.parent_id
        with self.engine.connect() as connection:
            rows = connection.execute(statement, params).mappings().all()
        if len(rows) != 1:
            found = "no" if not rows else "more than one"
            raise NotFound(f"{found} {describe(kinds)} matches the search parameters: not found")
        return rows[0]

    # -- writes ---------------------------------------------------------------------------

    def create(self, kind: Kind, changes: Changes, *, scope: Scope | None = None) -> Row:
        """Insert a new entity; a `scope` names the parent given in the path (ServeModel)."""
        values = with_defaults(kind, changes.values)
        name_new_artifact(kind, values)
        check_consistent(kind, values)
        with self.transaction(kind, values) as connection:
            if scope is not None:
                require(connection, scope.parent, scope.parent_id)
                values["parent_id"] = scope.parent_id
            check_references(connection, kind, values)
            return insert_entity(connection, kind, values, changes.custom)

    def update(self, kind: Kind, entity_id: int, changes: Changes) -> Row:
        """Apply a PATCH; lastUpdateTimeSinceEpoch strictly increases."""
        with self.transaction(kind, changes.values) as connection:
            current = fetch(connection, [kind], entity_id, lock=True)
            check_consistent(kind, {**current, **changes.values})
            check_references(connection, kind, {**current, **changes.values})
            return update_entity(connection, kind, current, changes)

    def transaction(self, kind: Kind, values: Mapping[str, Any]) -> _Transaction:
        return _Transaction(self.engine, kind, values)


class _Transaction:
    """`engine.begin()` that turns a unique-constraint violation into 409 Conflict."""

    def __init__(self, engine: Engine, kind: Kind, values: Mapping[str, Any]) -> None:
        self.context = engine.begin()
        self.kind = kind
        self.values = values

    def __enter__(self) -> Connection:
        connection = self.context.__enter__()
        if connection.dialect.name == "sqlite":
            # pysqlite begins only before the first INSERT/UPDATE, so what a write reads first
            # (the row a PATCH updates) would be read outside its transaction; take the write
            # lock up front, as SELECT ... FOR UPDATE does on PostgreSQL and MySQL.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        return connection

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        self.context.__exit__(exc_type, exc, traceback)
        if isinstance(exc, IntegrityError):
            raise conflict(self.kind, self.values) from None


def conflict(kind: Kind, values: Mapping[str, Any]) -> Conflict:
    """Upstream's words: `registered model with name MNIST already exists: conflict`."""
    name, external_id = values.get("name"), values.get("external_id")
    what = f"name {name}" if name is not None else "these values"
    if external_id is not None:
        what += f" or externalId {external_id}"
    return Conflict(f"{kind_words(kind)} with {what} already exists: conflict")


def fetch(connection: Connection, kinds: Sequence[Kind], entity_id: int, lock: bool = False) -> Row:
    statement = by_id(names(kinds), lock)
    row = connection.execute(statement, {"entity_id": entity_id}).mappings().first()
    if row is None:
        raise not_found(describe(kinds), entity_id)
    return row


def require(connection: Connection, kind: Kind, entity_id: int) -> Row:
    """The parent named in a path; 404 when it is not an entity of that kind."""
    row = connection.execute(parent_row(kind.name), {"entity_id": entity_id}).mappings().first()
    if row is None:
        raise not_found(describe([kind]), entity_id)
    return row


def with_defaults(kind: Kind, values: Mapping[str, Any]) -> dict[str, Any]:
    defaults = {f.column: f.default for f in kind.fields if f.default is not None}
    return {**defaults, **values}


def check_references(connection: Connection, kind: Kind, values: Mapping[str, Any]) -> None:
    """Every id field must name an entity of the right kind (404 otherwise)."""
    wanted = [
        (values[f.column], f.target)
        for f in kind.fields
        if f.type is FieldType.REF and f.target and values.get(f.column) is not None
    ]
    if not wanted:
        return
    found = {}
    for entity_id in {entity_id for entity_id, _target in wanted}:
        row = connection.execute(REFERENCE, {"entity_id": entity_id}).first()
        if row is not None:
            found[entity_id] = row
    for entity_id, target in wanted:
        if entity_id not in found or found[entity_id].kind != target:
            raise not_found(describe([ALL_KINDS[target]]), entity_id)
    version_id, model_id = values.get("model_version_id"), values.get("registered_model_id")
    if version_id is not None and model_id is not None and found[version_id].parent_id != model_id:
        raise BadRequest(
            f"ModelVersion {version_id} is not a version of RegisteredModel {model_id}"
        )


def insert_entity(
    connection: Connection,
    kind: Kind,
    values: Mapping[str, Any],
    custom: CustomProperties | None,
    parent_key: int | None = None,
) -> Row:
    table = TABLES[kind.family]
    timestamp = now_ms()
    row: dict[str, Any] = dict.fromkeys(table.c.keys())
    row.update(values)
    row["kind"] = kind.name
    row["parent_key"] = parent_key if parent_key is not None else (values.get("parent_id") or 0)
    row["create_time"] = row["update_time"] = timestamp
    row["custom_properties"] = custom.document if custom else None
    check_name_fits(kind, row["name"], row["parent_key"])
    del row["id"]
    result = connection.execute(insert_into(kind.family), row)
    row["id"] = result.inserted_primary_key[0]  # type: ignore[index]
    if custom:
        write_properties(connection, kind.family.value, row["id"], custom.typed_rows)
    return row


def update_entity(connection: Connection, kind: Kind, current: Row, changes: Changes) -> Row:
    table = TABLES[kind.family]
    values = dict(changes.values)
    values["update_time"] = max(now_ms(), current["update_time"] + 1)
    if changes.custom is not None:
        values["custom_properties"] = changes.custom.document
        replace_properties(connection, kind.family.value, current["id"], changes.custom.typed_rows)
    connection.execute(update(table).where(table.c.id == current["id"]).values(values))
    return {**current, **values}


def write_properties(
    connection: Connection, family: str, entity_id: int, rows: Iterable[Mapping[str, Any]]
) -> None:
    batch = [{**row, "family": family, "entity_id": entity_id} for row in rows]
    if batch:
        connection.execute(insert(properties), batch)


def replace_properties(
    connection: Connection, family: str, entity_id: int, rows: Iterable[Mapping[str, Any]]
) -> None:
    connection.execute(
        delete(properties).where(properties.c.family == family, properties.c.entity_id == entity_id)
    )
    write_properties(connection, family, entity_id, rows)
