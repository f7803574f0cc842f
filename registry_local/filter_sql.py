"""Compile a parsed filterQuery into a SQLAlchemy condition.

A property that is a built-in field of the kinds being listed compares its column; any other
name is a custom property, looked up in the `properties` table with the typed column named by
its suffix, or inferred from the literal: a number matches int and double values (upstream
does this for integer literals; a float literal here also finds integers).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Boolean,
    ColumnElement,
    String,
    Table,
    and_,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles

from registry_local.errors import BadRequest, shown
from registry_local.filter_query import Comparison, Expression, Junction, Scalar
from registry_local.kinds import Field, FieldType, Kind
from registry_local.schema import properties

NUMERIC = (FieldType.REF, FieldType.INT64, FieldType.INTEGER)
COMMON_BUILTINS: dict[str, Field] = {
    "id": Field("id", "id", FieldType.REF),
    "name": Field("name", "name", FieldType.NAME),
    "externalId": Field("externalId", "external_id", FieldType.NAME),
    "description": Field("description", "description"),
    "createTimeSinceEpoch": Field("createTimeSinceEpoch", "create_time", FieldType.INT64),
    "lastUpdateTimeSinceEpoch": Field("lastUpdateTimeSinceEpoch", "update_time", FieldType.INT64),
}
COMPARATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}


@dataclass(frozen=True)
class FilterScope:
    """What a filter runs over: a table, the kinds listed from it, their custom properties."""

    table: Table
    family: str | None
    kinds: tuple[Kind, ...]
    builtins: Mapping[str, Field] = field(default_factory=lambda: COMMON_BUILTINS)


def compile_filter(expression: Expression, scope: FilterScope) -> ColumnElement[bool]:
    if isinstance(expression, Junction):
        parts = [compile_filter(term, scope) for term in expression.terms]
        return and_(*parts) if expression.operator == "AND" else or_(*parts)
    return _comparison(expression, scope)


def _comparison(comparison: Comparison, scope: FilterScope) -> ColumnElement[bool]:
    groups: dict[Field | None, list[str]] = {}
    for kind in scope.kinds or (None,):
        groups.setdefault(_resolve(comparison.prop, kind, scope), []).append(
            kind.name if kind else ""
        )
    conditions = []
    for spec, kind_names in groups.items():
        condition = (
            _column_condition(scope.table.c[spec.column], spec, comparison)
            if spec is not None
            else _custom_condition(comparison, scope)
        )
        if len(groups) > 1:
            condition = and_(scope.table.c.kind.in_(kind_names), condition)
        conditions.append(condition)
    return conditions[0] if len(conditions) == 1 else or_(*conditions)


def _resolve(prop: str, kind: Kind | None, scope: FilterScope) -> Field | None:
    if prop in scope.builtins:
        return scope.builtins[prop]
    if kind is None:
        if scope.family is None:
            raise BadRequest(f"invalid filterQuery: unknown property {shown(prop)}")
        return None
    return kind.field(prop) or kind.filter_extra.get(prop)


def _column_condition(column: Any, spec: Field, comparison: Comparison) -> ColumnElement[bool]:
    if spec.type is FieldType.STRINGS:
        return _contains_condition(column, comparison)
    if comparison.operator in ("LIKE", "ILIKE") and spec.type in (*NUMERIC, FieldType.DOUBLE):
        raise BadRequest(f"invalid filterQuery: {spec.wire} is a number, LIKE needs text")
    convert = _column_converter(spec)
    return _apply(column, comparison.operator, _map(convert, comparison.value, spec.wire))


def _column_converter(spec: Field) -> Callable[[Scalar, str], Scalar]:
    if spec.type in NUMERIC:
        return _to_int
    if spec.type is FieldType.DOUBLE:
        return _to_float
    return _to_str


LIST_OPERATORS = ("=", "!=", "IN", "LIKE", "ILIKE")


def _contains_condition(column: Any, comparison: Comparison) -> ColumnElement[bool]:
    """`language = 'en'`, `tasks IN (...)`, `tasks LIKE 'text-%'`: some element of the stored
    JSON array equals (matches) the value; `!=`: a stored list with no element equal to it."""
    if comparison.operator not in LIST_OPERATORS:
        raise BadRequest(f"invalid filterQuery: list fields support {', '.join(LIST_OPERATORS)}")
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    if not values:
        return false()
    wanted = tuple(_to_str(value, "list element") for value in values)
    if comparison.operator == "!=":
        return and_(column.is_not(None), ~ListHas(column, "=", wanted))
    return ListHas(column, comparison.operator, wanted)


class ListHas(ColumnElement[bool]):
    """EXISTS an element of the JSON array of strings in `column` that `operator` `values`.

    Compiled per database (json_each, jsonb_array_elements_text, JSON_TABLE) so elements are
    compared whole: `language = 'a","b'` does not match `["a","b"]`."""

    inherit_cache = False
    type = Boolean()

    def __init__(self, column: Any, operator_name: str, values: tuple[Scalar, ...]) -> None:
        self.column = column
        self.operator_name = operator_name
        self.values = [literal(value, String()) for value in values]


def _element_test(element: ListHas, value_sql: str, compiler: Any, **kw: Any) -> str:
    values = [compiler.process(value, **kw) for value in element.values]
    if element.operator_name == "ILIKE":
        return f"lower({value_sql}) LIKE lower({values[0]})"
    if element.operator_name == "LIKE":
        return f"{value_sql} LIKE {values[0]}"
    return f"{value_sql} IN ({', '.join(values)})"


@compiles(ListHas, "sqlite")
def _list_has_sqlite(element: ListHas, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    test = _element_test(element, "list_element.value", compiler, **kw)
    return f"EXISTS (SELECT 1 FROM json_each({column}) AS list_element WHERE {test})"


@compiles(ListHas, "postgresql")
def _list_has_postgresql(element: ListHas, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    test = _element_test(element, "list_element.value", compiler, **kw)
    elements = f"jsonb_array_elements_text(CAST({column} AS JSONB)) AS list_element(value)"
    return f"EXISTS (SELECT 1 FROM {elements} WHERE {test})"


@compiles(ListHas, "mysql")
def _list_has_mysql(element: ListHas, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.column, **kw)
    test = _element_test(element, "list_element.value", compiler, **kw)
    columns = "value LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$'"
    elements = f"JSON_TABLE({column}, '$[*]' COLUMNS ({columns})) AS list_element"
    return f"EXISTS (SELECT 1 FROM {elements} WHERE {test})"


def _custom_condition(comparison: Comparison, scope: FilterScope) -> ColumnElement[bool]:
    value = comparison.value
    sample = value[0] if isinstance(value, tuple) and value else value
    if isinstance(sample, tuple):
        return false()
    typed_column = comparison.value_type or _inferred_type(sample, comparison.operator)
    if typed_column == "int_or_double":
        values = _map(_to_float, value, comparison.prop)
        match = or_(
            _apply(properties.c.int_value, comparison.operator, values),
            _apply(properties.c.double_value, comparison.operator, values),
        )
    else:
        if comparison.operator in ("LIKE", "ILIKE") and typed_column != "string_value":
            raise BadRequest("invalid filterQuery: LIKE needs a string_value property")
        values = _map(TYPED[typed_column], value, comparison.prop)
        match = _apply(properties.c[typed_column], comparison.operator, values)
    return (
        select(literal(1))
        .where(
            properties.c.family == scope.family,
            properties.c.entity_id == scope.table.c.id,
            properties.c.name == comparison.prop,
            match,
        )
        .exists()
    )


def _inferred_type(sample: Scalar, operator_name: str) -> str:
    if operator_name in ("LIKE", "ILIKE") or isinstance(sample, str):
        return "string_value"
    if isinstance(sample, bool):
        return "bool_value"
    return "int_or_double"


def _apply(column: Any, operator_name: str, value: Any) -> ColumnElement[bool]:
    if operator_name == "IN":
        return column.in_(list(value)) if isinstance(value, tuple) else column == value
    if isinstance(value, tuple):
        raise BadRequest(f"invalid filterQuery: {operator_name} needs a single value")
    if operator_name == "LIKE":
        return column.like(value)
    if operator_name == "ILIKE":
        return func.lower(column).like(func.lower(value))
    return COMPARATORS[operator_name](column, value)


def _map(
    convert: Callable[[Scalar, str], Scalar], value: Scalar | tuple[Scalar, ...], where: str
) -> Scalar | tuple[Scalar, ...]:
    if isinstance(value, tuple):
        return tuple(convert(item, where) for item in value)
    return convert(value, where)


def _to_int(value: Scalar, where: str) -> Scalar:
    if isinstance(value, bool):
        raise BadRequest(f"invalid filterQuery: {where} compares with a number, not a boolean")
    if isinstance(value, int | float):
        return value
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"invalid filterQuery: {where} compares with a number") from None
    if not -(2**63) <= number < 2**63:
        raise BadRequest(f"invalid filterQuery: {where} is out of the 64-bit range")
    return number


def _to_float(value: Scalar, where: str) -> Scalar:
    if not isinstance(value, str):
        return _to_int(value, where)
    try:
        number = float(value)
    except ValueError:
        raise BadRequest(f"invalid filterQuery: {where} compares with a number") from None
    if not math.isfinite(number):
        raise BadRequest(f"invalid filterQuery: {where} is out of range")
    return number


def _to_str(value: Scalar, where: str) -> Scalar:
    if isinstance(value, bool):
        raise BadRequest(f"invalid filterQuery: {where} compares with text, not a boolean")
    return value if isinstance(value, str) else str(value)


def _to_bool(value: Scalar, where: str) -> Scalar:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRequest(f"invalid filterQuery: {where}.bool_value compares with true or false")


TYPED: dict[str, Callable[[Scalar, str], Scalar]] = {
    "string_value": _to_str,
    "int_value": _to_int,
    "double_value": _to_float,
    "bool_value": _to_bool,
}
