"""List options (pageSize, orderBy, sortOrder, nextPageToken) and keyset pagination.

The page token is opaque to clients: base64url of `[list key, orderBy, sortOrder, sort value,
id]` of the last item returned. The next page continues strictly after that (value, id) pair,
so pages stay stable while entities are created and each page costs one index range scan.
The list key is a digest of the path and the filtering parameters, so a token presented to
another list (or with another filter) is refused with 400 instead of skipping items silently.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import BigInteger, Integer, Select, Table, and_, bindparam, or_

from registry_local.errors import BadRequest, shown
from registry_local.filter_query import Expression, parse_filter
from registry_local.properties import check_text

ORDER_COLUMNS = {"ID": "id", "CREATE_TIME": "create_time", "LAST_UPDATE_TIME": "update_time"}
SORT_ORDERS = ("ASC", "DESC")
INT64_MAX = 2**63 - 1
PAGE_SIZE = re.compile(r"[1-9][0-9]{0,8}")  # the OpenAPI document's pattern
MAX_TOKEN_LENGTH = 256  # ours are under 100 characters
PAGING_PARAMS = frozenset({"pageSize", "nextPageToken", "orderBy", "sortOrder"})
INVALID_TOKEN = (
    "invalid nextPageToken: it is not one this server issued; "
    "pass the nextPageToken of the previous page unchanged"
)


@dataclass(frozen=True)
class ListQuery:
    """Validated list parameters shared by every list endpoint."""

    page_size: int | None = None
    order_by: str = "ID"
    descending: bool = False
    after: tuple[int, int] | None = None  # (sort value, id) of the last item already seen
    filter: Expression | None = None
    name: str | None = None
    external_id: str | None = None
    list_key: str = ""  # which list a page token belongs to (see `list_key`)


@dataclass(frozen=True)
class Page:
    """One page of rows and the token of the next one ('' on the last page)."""

    rows: Sequence[Mapping[Any, Any]]
    next_page_token: str
    page_size: int


def list_key(path: str, params: Mapping[str, str]) -> str:
    """Names one list: its path and every parameter but the paging ones."""
    selection = sorted((key, value) for key, value in params.items() if key not in PAGING_PARAMS)
    text = orjson.dumps([path, selection])
    return hashlib.blake2b(text, digest_size=6).hexdigest()


def parse_list_query(params: Mapping[str, str], key: str = "") -> ListQuery:
    """Validate the list query parameters (400 on a bad value); `key` names the list."""
    order_by = _choice(params, "orderBy", tuple(ORDER_COLUMNS)) or "ID"
    sort_order = _choice(params, "sortOrder", SORT_ORDERS) or "ASC"
    query = ListQuery(
        page_size=_page_size(params.get("pageSize")),
        order_by=order_by,
        descending=sort_order == "DESC",
        filter=parse_filter(params.get("filterQuery")),
        name=_text(params, "name"),
        external_id=_text(params, "externalId"),
        list_key=key,
    )
    return replace(query, after=decode_token(params.get("nextPageToken") or "", query))


def _choice(params: Mapping[str, str], key: str, choices: tuple[str, ...]) -> str | None:
    value = params.get(key)
    if value in (None, ""):
        return None
    if value not in choices:
        raise BadRequest(f"{key} must be one of {', '.join(choices)}, got {shown(value)}")
    return value


def _page_size(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    if not PAGE_SIZE.fullmatch(value):
        raise BadRequest(f"pageSize must be a positive integer, got {shown(value)}")
    return int(value)


def _text(params: Mapping[str, str], key: str) -> str | None:
    value = params.get(key)
    return None if value is None else check_text(value, key)


def encode_token(query: ListQuery, value: int, entity_id: int) -> str:
    raw = orjson.dumps([query.list_key, query.order_by, _direction(query), value, entity_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, query: ListQuery) -> tuple[int, int] | None:
    """The (sort value, id) a token continues after; 400 when it is not one of ours."""
    if not token:
        return None
    if len(token) > MAX_TOKEN_LENGTH:
        raise BadRequest(INVALID_TOKEN)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key, order, direction, value, entity_id = orjson.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        raise BadRequest(INVALID_TOKEN) from None
    if not (_is_int64(value) and _is_int64(entity_id)):
        raise BadRequest(INVALID_TOKEN)
    if key != query.list_key:
        raise BadRequest(
            "nextPageToken was issued for another list: repeat the path and every parameter "
            "but nextPageToken and pageSize from the request that returned it"
        )
    if (order, direction) != (query.order_by, _direction(query)):
        raise BadRequest("nextPageToken was issued for another orderBy/sortOrder")
    return value, entity_id


def _direction(query: ListQuery) -> str:
    return "DESC" if query.descending else "ASC"


def _is_int64(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT64_MAX


def paginate(
    statement: Select[Any], table: Table, query: ListQuery, *, after: bool, limit: bool
) -> Select[Any]:
    """Add the ordering, the keyset condition (`:after_value`, `:after_id`) and `LIMIT
    :page_limit` (pageSize + 1, to see whether more follow); values from `page_params`."""
    sort_column = table.c[ORDER_COLUMNS[query.order_by]]
    id_column = table.c.id
    if after:
        statement = statement.where(_after(sort_column, id_column, query))
    columns = [id_column] if query.order_by == "ID" else [sort_column, id_column]
    statement = statement.order_by(*[c.desc() if query.descending else c.asc() for c in columns])
    if limit:
        statement = statement.limit(bindparam("page_limit", type_=Integer))
    return statement


def page_params(query: ListQuery) -> dict[str, Any]:
    """Values for the parameters `paginate` adds."""
    params: dict[str, Any] = {}
    if query.after is not None:
        params["after_value"], params["after_id"] = query.after
    if query.page_size is not None:
        params["page_limit"] = query.page_size + 1
    return params


def _after(sort_column: Any, id_column: Any, query: ListQuery) -> Any:
    last_id = bindparam("after_id", type_=BigInteger)
    if query.order_by == "ID":
        return id_column < last_id if query.descending else id_column > last_id
    value = bindparam("after_value", type_=BigInteger)
    if query.descending:
        return and_(sort_column <= value, or_(sort_column < value, id_column < last_id))
    return and_(sort_column >= value, or_(sort_column > value, id_column > last_id))


def make_page(rows: Sequence[Mapping[Any, Any]], query: ListQuery) -> Page:
    """Cut the extra row off and issue the token for the next page."""
    if query.page_size is None or len(rows) <= query.page_size:
        return Page(rows, "", query.page_size or len(rows))
    rows = rows[: query.page_size]
    last = rows[-1]
    value = last[ORDER_COLUMNS[query.order_by]]
    token = encode_token(query, value, last["id"])
    return Page(rows, token, query.page_size)
