"""The registry store: create, get, update, list and find entities of every kind.

Protocol-neutral: it takes validated `Changes` and `ListQuery` objects and returns row
mappings (column name -> value); `wire.py` renders them. Every write is one transaction, so a
rejected request (409, 404 on a reference) leaves the database as it was.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, Table, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from registry_local.errors import BadRequest, Conflict, NotFound
from registry_local.filter_sql import FilterScope, compile_filter
from registry_local.kinds import Family, FieldType, Kind
from registry_local.listing import ListQuery, Page, make_page, paginate
from registry_local.properties import CustomProperties
from registry_local.schema import artifacts, attributions, contexts, properties, serve_models
from registry_local.wire import Changes

Row = Mapping[Any, Any]
TABLES: dict[Family, Table] = {
    Family.CONTEXT: contexts,
    Family.ARTIFACT: artifacts,
    Family.SERVE: serve_models,
}


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
        return self.parent.family is Family.CONTEXT and self.parent.name in (
            "ModelVersion",
            "ExperimentRun",
        )


def table_of(kinds: Sequence[Kind]) -> Table:
    return TABLES[kinds[0].family]


_COLUMNS: dict[tuple[str, ...], list[Any]] = {}
ALWAYS_READ = (
    "id",
    "kind",
    "parent_id",
    "name",
    "external_id",
    "description",
    "custom_properties",
    "create_time",
    "update_time",
)


def columns_of(kinds: Sequence[Kind]) -> list[Any]:
    """The columns that rendering these kinds needs (reading fewer columns is faster)."""
    key = tuple(kind.name for kind in kinds)
    columns = _COLUMNS.get(key)
    if columns is None:
        table = table_of(kinds)
        wanted = set(ALWAYS_READ) & set(table.c.keys())
        for kind in kinds:
            wanted.update(spec.column for spec in kind.fields)
            if kind.is_artifact:
                wanted.update(("experiment_id", "experiment_run_id"))
        columns = _COLUMNS[key] = [column for column in table.c if column.name in wanted]
    return columns


def kind_condition(table: Table, kinds: Sequence[Kind]) -> Any:
    if len(kinds) == 1:
        return table.c.kind == kinds[0].name
    return table.c.kind.in_([kind.name for kind in kinds])


def describe(kinds: Sequence[Kind]) -> str:
    return kinds[0].name if len(kinds) == 1 else "Artifact"


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
        table = table_of(kinds)
        statement = select(*columns_of(kinds)).where(kind_condition(table, kinds))
        with self.engine.connect() as connection:
            if scope is not None:
                statement = restrict(statement, table, scope)
                if scope.via_attribution:
                    require(connection, scope.parent, scope.parent_id)
            statement = narrow(statement, table, query, kinds)
            rows = connection.execute(paginate(statement, table, query)).mappings().all()
            if scope is not None and not rows:
                # A child row names its parent, which can only be of the parent kind, so the
                # parent check is needed only when there are no children (404 vs empty list).
                require(connection, scope.parent, scope.parent_id)
        return make_page(rows, query)

    def find(self, kinds: Sequence[Kind], query: ListQuery, scope: Scope | None) -> Row:
        """The single entity matching name / externalId / parent: 404 on none or several."""
        if query.name is None and query.external_id is None and scope is None:
            raise BadRequest("give at least one of name, externalId, parentResourceId")
        table = table_of(kinds)
        statement = select(*columns_of(kinds)).where(kind_condition(table, kinds))
        statement = narrow(statement, table, query, kinds)
        if scope is not None:
            statement = restrict(statement, table, scope)
        with self.engine.connect() as connection:
            rows = connection.execute(statement.limit(2)).all()
        if len(rows) != 1:
            found = "no" if not rows else "more than one"
            raise NotFound(f"{found} {describe(kinds)} matches the search parameters")
        return rows[0]._mapping

    # -- writes ---------------------------------------------------------------------------

    def create(self, kind: Kind, changes: Changes, *, scope: Scope | None = None) -> Row:
        """Insert a new entity; a `scope` names the parent given in the path (ServeModel)."""
        values = with_defaults(kind, changes.values)
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
        return self.context.__enter__()

    def __exit__(self, exc_type: Any, exc: Any, traceback: Any) -> None:
        self.context.__exit__(exc_type, exc, traceback)
        if isinstance(exc, IntegrityError):
            raise conflict(self.kind, self.values) from None


def conflict(kind: Kind, values: Mapping[str, Any]) -> Conflict:
    name, external_id = values.get("name"), values.get("external_id")
    scope = " in its parent" if kind.parent_kind else ""
    what = f"name {name!r}{scope}" if name is not None else "these values"
    if external_id is not None:
        what += f" or externalId {external_id!r}"
    return Conflict(f"a {kind.name} with {what} already exists")


def fetch(connection: Connection, kinds: Sequence[Kind], entity_id: int, lock: bool = False) -> Row:
    table = table_of(kinds)
    columns = table.c if lock else columns_of(kinds)  # an update merges into the whole row
    statement = select(*columns).where(table.c.id == entity_id, kind_condition(table, kinds))
    if lock:
        statement = statement.with_for_update()
    row = connection.execute(statement).first()
    if row is None:
        raise NotFound(f"{describe(kinds)} with id {entity_id} not found")
    return row._mapping


def require(connection: Connection, kind: Kind, entity_id: int) -> Row:
    """The parent named in a path; 404 when it is not an entity of that kind."""
    table = TABLES[kind.family]
    columns = [table.c.id, table.c.kind, table.c.parent_id]
    statement = select(*columns).where(table.c.id == entity_id, table.c.kind == kind.name)
    row = connection.execute(statement).first()
    if row is None:
        raise NotFound(f"{kind.name} with id {entity_id} not found")
    return row._mapping


def restrict(statement: Any, table: Table, scope: Scope) -> Any:
    if scope.via_attribution:
        link = attributions.c
        return statement.join(attributions, link.artifact_id == table.c.id).where(
            link.context_id == scope.parent_id
        )
    return statement.where(table.c.parent_id == scope.parent_id)


def narrow(statement: Any, table: Table, query: ListQuery, kinds: Sequence[Kind]) -> Any:
    """Apply the name / externalId parameters and the filterQuery."""
    if query.name is not None:
        statement = statement.where(table.c.name == query.name)
    if query.external_id is not None:
        statement = statement.where(table.c.external_id == query.external_id)
    if query.filter is not None:
        scope = FilterScope(table, kinds[0].family.value, tuple(kinds))
        statement = statement.where(compile_filter(query.filter, scope))
    return statement


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
    ids = list({entity_id for entity_id, _target in wanted})
    statement = select(contexts.c.id, contexts.c.kind, contexts.c.parent_id)
    # `IN` is re-rendered for every call; the usual single reference can use `=` (cached).
    match = contexts.c.id == ids[0] if len(ids) == 1 else contexts.c.id.in_(ids)
    found = {row.id: row for row in connection.execute(statement.where(match))}
    for entity_id, target in wanted:
        if entity_id not in found or found[entity_id].kind != target:
            raise NotFound(f"{target} with id {entity_id} not found")
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
    del row["id"]
    result = connection.execute(insert(table), row)
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
