"""The REST layer between HTTP and the store: path routing, dialects, JSON rendering.

Paths below a prefix have at most three segments and ids only ever sit in the second one
(`/registered_models/{id}/versions`), so a route is found with two dictionary lookups. A
path with no handler for the method raises MethodNotAllowed naming the methods it has in
METHOD_ORDER, RFC 9110's usual order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from registry_local.errors import BadRequest, MethodNotAllowed, NotFound, shown
from registry_local.kinds import ALL_KINDS, INFERENCE_SERVICE, Kind
from registry_local.listing import ListQuery, Page, list_key, parse_list_query
from registry_local.store import Row, Store
from registry_local.wire import Codec, parse_id, parse_json_object

JSON_HEADERS = [(b"content-type", b"application/json")]
READ_METHODS = ("GET", "HEAD")
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")


def method_rank(method: str) -> tuple[int, str]:
    """Where `method` stands in an `Allow` header: METHOD_ORDER, others last."""
    known = method in METHOD_ORDER
    return (METHOD_ORDER.index(method) if known else len(METHOD_ORDER), method)


@dataclass(frozen=True)
class Dialect:
    """What differs between API prefixes: field names renamed on the way in and out."""

    name: str
    renames: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # kind -> old->new

    def incoming(self, kind: Kind, body: dict[str, Any]) -> dict[str, Any]:
        renames = self.renames.get(kind.name)
        if not renames:
            return body
        for old, new in renames.items():
            if old in body and new in body:
                raise BadRequest(f"give either {old!r} or {new!r}, not both")
        return {renames.get(key, key): value for key, value in body.items()}

    def outgoing(self, kind: Kind) -> Mapping[str, str]:
        return {new: old for old, new in self.renames.get(kind.name, {}).items()}


CURRENT = Dialect("v1alpha3")
# v1alpha1 (the seed's curl commands) named an InferenceService's desiredState `state`.
V1ALPHA1 = Dialect("v1alpha1", {INFERENCE_SERVICE.name: {"state": "desiredState"}})
DIALECTS = {"v1alpha3": CURRENT, "v1": CURRENT, "v1alpha1": V1ALPHA1}


@dataclass
class Call:
    """One API request as the handlers see it."""

    registry: Registry
    dialect: Dialect
    params: Mapping[str, str]
    raw_body: bytes = b""
    entity_id: int = 0
    path: str = ""  # below the prefix, e.g. `registered_models/2/versions`
    version: str = ""  # the prefix's version segment, e.g. `v1alpha3`

    def list_query(self) -> ListQuery:
        """The list parameters; page tokens are only valid for the list that issued them."""
        return parse_list_query(self.params, list_key(self.path, self.params))

    def body(self, kind: Kind | None = None) -> dict[str, Any]:
        body = parse_json_object(self.raw_body)
        return self.dialect.incoming(kind, body) if kind is not None else body

    def entity(self, row: Row, kind: Kind | None = None) -> dict[str, Any]:
        return self.registry.codec(kind or ALL_KINDS[row["kind"]], self.dialect).encode(row)

    def page(self, page: Page, kind: Kind | None = None) -> dict[str, Any]:
        kinds = {row["kind"] for row in page.rows} if kind is None else {kind.name}
        if len(kinds) == 1:
            encode = self.registry.codec(kind or ALL_KINDS[kinds.pop()], self.dialect).encode
            items = [encode(row) for row in page.rows]
        else:
            items = [self.entity(row, kind) for row in page.rows]
        return {
            "items": items,
            "nextPageToken": page.next_page_token,
            "pageSize": page.page_size,
            "size": len(items),
        }


@dataclass(frozen=True)
class Document:
    """A reply body that is not JSON: its bytes and headers (the content type)."""

    body: bytes
    headers: list[tuple[bytes, bytes]]


Reply = tuple[int, Any]  # the status and a JSON-encodable payload, or a Document
Handler = Callable[[Call], Reply]


class Registry:
    """The store plus cached encoders, shared by every request."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._codecs: dict[tuple[str, str], Codec] = {}

    def codec(self, kind: Kind, dialect: Dialect) -> Codec:
        key = (kind.name, dialect.name)
        codec = self._codecs.get(key)
        if codec is None:
            codec = self._codecs[key] = Codec(kind, dialect.outgoing(kind))
        return codec


class Router:
    """Maps (method, path below the prefix) to a handler and the id in the path."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, ...], dict[str, Handler]] = {}

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        key = tuple("*" if part == "{id}" else part for part in pattern.strip("/").split("/"))
        self.routes.setdefault(key, {})[method] = handler

    def match(self, method: str, path: str) -> tuple[Handler, int]:
        segments = tuple(path.strip("/").split("/"))
        methods = self.routes.get(segments)
        entity_id = 0
        if methods is None and len(segments) > 1:
            methods = self.routes.get((segments[0], "*", *segments[2:]))
            if methods is not None:
                entity_id = parse_id(segments[1], "id in the path")
        if methods is None:
            raise NotFound(f"no such path: {shown(path)}")
        handler = methods.get(method)
        if handler is None:
            allowed = tuple(sorted(methods, key=method_rank))
            message = f"{method} is not allowed here; use {', '.join(allowed)}"
            raise MethodNotAllowed(message, allowed)
        return handler, entity_id
