"""Handlers of every Model Registry operation (and the OpenAPI document), and the route table.

Handlers are thin: decode with `wire`, call the store, encode with `Call.entity/page`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from registry_local.errors import BadRequest, NotFound
from registry_local.http_api import READ_METHODS, Call, Document, Handler, Reply, Router
from registry_local.kinds import (
    ARTIFACT_KINDS,
    EXPERIMENT,
    EXPERIMENT_RUN,
    INFERENCE_SERVICE,
    MODEL_ARTIFACT,
    MODEL_VERSION,
    REGISTERED_MODEL,
    SERVE_MODEL,
    SERVING_ENVIRONMENT,
    Kind,
)
from registry_local.listing import ListQuery, parse_list_query
from registry_local.openapi import served_yaml
from registry_local.rules import check_posted
from registry_local.store import Scope
from registry_local.store_artifacts import (
    encode_history,
    metric_history_page,
    parse_step_ids,
    upsert_artifact,
)
from registry_local.wire import decode_create, decode_update, parse_id

ALL_ARTIFACTS = tuple(ARTIFACT_KINDS.values())
YAML_HEADERS = [(b"content-type", b"application/yaml")]


@dataclass(frozen=True)
class Resource:
    """A top-level collection: `/{plural}`, `/{plural}/{id}` and the find path `/{singular}`."""

    plural: str
    singular: str
    kinds: tuple[Kind, ...]
    find_parent: Kind | None = None  # what `parentResourceId` names in a find


RESOURCES = (
    Resource("registered_models", "registered_model", (REGISTERED_MODEL,)),
    Resource("model_versions", "model_version", (MODEL_VERSION,), REGISTERED_MODEL),
    Resource("serving_environments", "serving_environment", (SERVING_ENVIRONMENT,)),
    Resource("inference_services", "inference_service", (INFERENCE_SERVICE,), SERVING_ENVIRONMENT),
    Resource("experiments", "experiment", (EXPERIMENT,)),
    Resource("experiment_runs", "experiment_run", (EXPERIMENT_RUN,), EXPERIMENT),
    Resource("model_artifacts", "model_artifact", (MODEL_ARTIFACT,), MODEL_VERSION),
    Resource("artifacts", "artifact", ALL_ARTIFACTS, MODEL_VERSION),
)


def artifact_kinds(call: Call, kinds: Sequence[Kind]) -> tuple[Kind, ...]:
    """`artifactType` narrows a polymorphic artifact list to one type."""
    wanted = call.params.get("artifactType")
    if not wanted or len(kinds) == 1:
        return tuple(kinds)
    if wanted not in ARTIFACT_KINDS:
        raise BadRequest(f"artifactType must be one of {', '.join(ARTIFACT_KINDS)}")
    return (ARTIFACT_KINDS[wanted],)


def body_kind(call: Call, kinds: Sequence[Kind]) -> Kind:
    """The kind a create/upsert body is: fixed, or chosen by its artifactType."""
    if len(kinds) == 1:
        return kinds[0]
    artifact_type = call.body().get("artifactType")
    if artifact_type is None:
        raise BadRequest(f"artifactType is required, one of {', '.join(ARTIFACT_KINDS)}")
    if not isinstance(artifact_type, str) or artifact_type not in ARTIFACT_KINDS:
        raise BadRequest(f"artifactType must be one of {', '.join(ARTIFACT_KINDS)}")
    return ARTIFACT_KINDS[artifact_type]


def list_handler(resource: Resource) -> Handler:
    def handle(call: Call) -> Reply:
        kinds = artifact_kinds(call, resource.kinds)
        page = call.registry.store.list(kinds, call.list_query())
        return 200, call.page(page)

    return handle


def create_handler(resource: Resource) -> Handler:
    def handle(call: Call) -> Reply:
        kind = body_kind(call, resource.kinds)
        changes = decode_create(kind, call.body(kind))
        check_posted(kind, changes.values)
        return 201, call.entity(call.registry.store.create(kind, changes))

    return handle


def get_handler(resource: Resource) -> Handler:
    def handle(call: Call) -> Reply:
        return 200, call.entity(call.registry.store.get(resource.kinds, call.entity_id))

    return handle


def update_handler(resource: Resource) -> Handler:
    def handle(call: Call) -> Reply:
        store = call.registry.store
        kind = resource.kinds[0]
        if len(resource.kinds) > 1:
            kind = ARTIFACT_KINDS[store.get(resource.kinds, call.entity_id)["kind"]]
        row = store.update(kind, call.entity_id, decode_update(kind, call.body(kind)))
        return 200, call.entity(row)

    return handle


def find_handler(resource: Resource) -> Handler:
    def handle(call: Call) -> Reply:
        query = find_query(call)
        parent = call.params.get("parentResourceId")
        scope = None
        if parent is not None and resource.find_parent is not None:
            scope = Scope(resource.find_parent, parse_id(parent, "parentResourceId"))
        return 200, call.entity(call.registry.store.find(resource.kinds, query, scope))

    return handle


def find_query(call: Call) -> ListQuery:
    params = {key: call.params[key] for key in ("name", "externalId") if key in call.params}
    return parse_list_query(params)


@dataclass(frozen=True)
class Children:
    """A nested collection: `/{parent plural}/{id}/{segment}`."""

    parent: Kind
    kinds: tuple[Kind, ...]

    def list(self, call: Call) -> Reply:
        kinds = artifact_kinds(call, self.kinds)
        scope = Scope(self.parent, call.entity_id)
        return 200, call.page(call.registry.store.list(kinds, call.list_query(), scope))

    def create(self, call: Call) -> Reply:
        """Upstream validates the body against its schema (its parent id field is required
        there too), then the id in the path wins."""
        kind = self.kinds[0]
        body = call.body(kind)
        if kind.parent_field is not None:
            if isinstance(body.get(kind.parent_field), str) and body[kind.parent_field]:
                body[kind.parent_field] = str(call.entity_id)
            row = call.registry.store.create(kind, decode_create(kind, body, full_schema=True))
        else:
            scope = Scope(self.parent, call.entity_id)
            row = call.registry.store.create(kind, decode_create(kind, body), scope=scope)
        return 201, call.entity(row)

    def upsert_artifact(self, call: Call) -> Reply:
        kind = body_kind(call, self.kinds)
        changes = decode_create(kind, call.body(kind), full_schema=True)
        check_posted(kind, changes.values)
        row, created = upsert_artifact(
            call.registry.store, kind, changes, self.parent, call.entity_id
        )
        return (201 if created else 200), call.entity(row)


def inference_service_model(call: Call) -> Reply:
    store = call.registry.store
    service = store.get((INFERENCE_SERVICE,), call.entity_id)
    return 200, call.entity(store.get((REGISTERED_MODEL,), service["registered_model_id"]))


def inference_service_version(call: Call) -> Reply:
    """The version it serves: its modelVersionId, else the model's latest version."""
    store = call.registry.store
    service = store.get((INFERENCE_SERVICE,), call.entity_id)
    if service["model_version_id"] is not None:
        return 200, call.entity(store.get((MODEL_VERSION,), service["model_version_id"]))
    latest = ListQuery(page_size=1, order_by="CREATE_TIME", descending=True)
    scope = Scope(REGISTERED_MODEL, service["registered_model_id"])
    page = store.list((MODEL_VERSION,), latest, scope)
    if not page.rows:
        raise NotFound(f"RegisteredModel {service['registered_model_id']} has no versions")
    return 200, call.entity(page.rows[0])


def metric_history(call: Call, run_id: int | None) -> Reply:
    query = call.list_query()
    steps = parse_step_ids(call.params.get("stepIds"))
    page = metric_history_page(call.registry.store, query, run_id, steps)
    items = [encode_history(row) for row in page.rows]
    reply = {"items": items, "nextPageToken": page.next_page_token}
    return 200, {**reply, "pageSize": page.page_size, "size": len(items)}


def openapi_document(call: Call) -> Reply:
    """The OpenAPI document of the prefix the request came in on."""
    return 200, Document(served_yaml(call.version), YAML_HEADERS)


def build_router() -> Router:
    router = Router()
    for method in READ_METHODS:
        router.add(method, "openapi.yaml", openapi_document)
    router.add("GET", "experiment_runs/metric_history", lambda call: metric_history(call, None))
    for resource in RESOURCES:
        router.add("GET", resource.plural, list_handler(resource))
        router.add("POST", resource.plural, create_handler(resource))
        router.add("GET", f"{resource.plural}/{{id}}", get_handler(resource))
        router.add("PATCH", f"{resource.plural}/{{id}}", update_handler(resource))
        router.add("GET", resource.singular, find_handler(resource))
    add_children(router)
    return router


def add_children(router: Router) -> None:
    nested = {
        "registered_models/{id}/versions": Children(REGISTERED_MODEL, (MODEL_VERSION,)),
        "serving_environments/{id}/inference_services": Children(
            SERVING_ENVIRONMENT, (INFERENCE_SERVICE,)
        ),
        "experiments/{id}/experiment_runs": Children(EXPERIMENT, (EXPERIMENT_RUN,)),
        "inference_services/{id}/serves": Children(INFERENCE_SERVICE, (SERVE_MODEL,)),
    }
    for path, children in nested.items():
        router.add("GET", path, children.list)
        router.add("POST", path, children.create)
    for parent in (MODEL_VERSION, EXPERIMENT_RUN):
        children = Children(parent, ALL_ARTIFACTS)
        path = f"{'model_versions' if parent is MODEL_VERSION else 'experiment_runs'}/{{id}}"
        router.add("GET", f"{path}/artifacts", children.list)
        router.add("POST", f"{path}/artifacts", children.upsert_artifact)
    router.add("GET", "inference_services/{id}/model", inference_service_model)
    router.add("GET", "inference_services/{id}/version", inference_service_version)
    router.add(
        "GET",
        "experiment_runs/{id}/metric_history",
        lambda call: metric_history(call, call.entity_id),
    )
