"""An in-memory Kubernetes API server for `inferenceservices.serving.kserve.io`, on loopback.

No cluster exists where these tests run, so this stands in for the API server (nothing
else: the controller talks to it through the real `kubernetes` client and its HTTP). It
keeps objects in memory and behaves as kube-apiserver does for a custom resource with a
status subresource:

- create: 201; 409 AlreadyExists; 422 Invalid (CRD schema, strict fields, object rules);
  400 when the body's namespace differs from the URL's; status in the body is dropped;
- get/list: 404 NotFound; list honours `labelSelector` (`k=v`, `k==v`, `k!=v`, `k`, `!k`);
- merge patch (RFC 7386; other patch types 415): 409 Conflict when the patch carries a stale
  `metadata.resourceVersion`; result validated (422); `generation` +1 when the spec changes;
- update (PUT): `metadata.resourceVersion` required (422) and must match (409);
- `/status` (PUT/PATCH): changes status only, as KServe's controller does;
- delete: with finalizers only sets `deletionTimestamp`; gone when the finalizers are.
`resourceVersion` is one counter for all objects. `fail_with(status)` answers the next
requests with that status (an unavailable API server, or an admission webhook's refusal).
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kserve_schema import object_violations, schema_violations

PATH = re.compile(
    r"/apis/serving\.kserve\.io/v1beta1/namespaces/([^/]+)/inferenceservices"
    r"(?:/([^/]+))?(/status)?"
)
REASONS = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    415: "UnsupportedMediaType",
    422: "Invalid",
    503: "ServiceUnavailable",
}


class ApiError(Exception):
    def __init__(self, code: int, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.reason = reason or REASONS.get(code, "InternalError")


@dataclass(frozen=True)
class Request:
    """One request as the server saw it (for tests asserting what the client sent)."""

    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str


def merge(target: Any, patch: Any) -> Any:
    """Apply a JSON merge patch (RFC 7386)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def selector_matches(selector: str, labels: dict[str, str]) -> bool:
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            ok = labels.get(key.strip()) != value.strip()
        elif "=" in term:
            key, value = re.split("==?", term, maxsplit=1)
            ok = labels.get(key.strip()) == value.strip()
        else:
            ok = (term[1:] not in labels) if term.startswith("!") else term in labels
        if not ok:
            return False
    return True


@dataclass
class InferenceServiceStore:
    """The objects, keyed by (namespace, name), and the API semantics on them."""

    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    versions: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def stamp(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj["metadata"]["resourceVersion"] = str(next(self.versions))
        self.objects[(obj["metadata"]["namespace"], obj["metadata"]["name"])] = obj
        return copy.deepcopy(obj)

    def find(self, namespace: str, name: str) -> dict[str, Any]:
        if (namespace, name) not in self.objects:
            raise ApiError(404, f'inferenceservices.serving.kserve.io "{name}" not found')
        return self.objects[(namespace, name)]

    def list(self, namespace: str, selector: str) -> dict[str, Any]:
        items = [
            copy.deepcopy(o)
            for (ns, _), o in sorted(self.objects.items())
            if ns == namespace and selector_matches(selector, o["metadata"].get("labels") or {})
        ]
        return {
            "apiVersion": "serving.kserve.io/v1beta1",
            "kind": "InferenceServiceList",
            "metadata": {"resourceVersion": str(next(self.versions))},
            "items": items,
        }

    def create(self, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        metadata = body.setdefault("metadata", {})
        if metadata.setdefault("namespace", namespace) != namespace:
            raise ApiError(
                400,
                "the namespace of the provided object does not match the "
                "namespace sent on the request",
            )
        if metadata.get("resourceVersion"):
            raise ApiError(400, "resourceVersion should not be set on objects to be created")
        body.pop("status", None)
        validate(body)
        if (namespace, metadata.get("name")) in self.objects:
            raise ApiError(
                409,
                f'inferenceservices.serving.kserve.io "{metadata["name"]}" already exists',
                "AlreadyExists",
            )
        metadata.update(uid=str(uuid.uuid4()), generation=1, creationTimestamp=now())
        return self.stamp(body)

    def replace(self, namespace: str, name: str, new: dict[str, Any], status: bool) -> Any:
        current = self.find(namespace, name)
        version = new.get("metadata", {}).get("resourceVersion")
        if version is None and not status:
            raise ApiError(
                422, "metadata.resourceVersion: Invalid value: 0: must be specified for an update"
            )
        if version is not None and version != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                f"Operation cannot be fulfilled on inferenceservices.serving."
                f'kserve.io "{name}": the object has been modified; please '
                "apply your changes to the latest version and try again",
            )
        result = copy.deepcopy(current)
        if status:
            result["status"] = new.get("status")
        else:
            result["spec"] = new.get("spec")
            for key in ("labels", "annotations", "finalizers", "ownerReferences"):
                result["metadata"][key] = new.get("metadata", {}).get(key)
            result["metadata"] = {k: v for k, v in result["metadata"].items() if v is not None}
        return self.save(current, result)

    def patch(self, namespace: str, name: str, patch: dict[str, Any], status: bool) -> Any:
        current = self.find(namespace, name)
        version = (patch.get("metadata") or {}).get("resourceVersion")
        if version is not None and version != current["metadata"]["resourceVersion"]:
            raise ApiError(
                409,
                f"Operation cannot be fulfilled on inferenceservices.serving."
                f'kserve.io "{name}": the object has been modified',
            )
        result = merge(current, patch)
        result["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        for key in (
            "uid",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "name",
            "namespace",
        ):
            if key in current["metadata"]:
                result["metadata"][key] = current["metadata"][key]
        if status:  # only status may change through /status
            result = {**copy.deepcopy(current), "status": result.get("status")}
        else:  # and not through the main resource
            result["status"] = current.get("status")
        return self.save(current, {k: v for k, v in result.items() if v is not None})

    def save(self, current: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
        validate(result, generated=False)
        if result.get("spec") != current.get("spec"):
            result["metadata"]["generation"] = current["metadata"]["generation"] + 1
        if result["metadata"].get("deletionTimestamp") and not result["metadata"].get("finalizers"):
            del self.objects[(result["metadata"]["namespace"], result["metadata"]["name"])]
            return copy.deepcopy(result)
        return self.stamp(result)

    def delete(self, namespace: str, name: str) -> dict[str, Any]:
        current = self.find(namespace, name)
        if current["metadata"].get("finalizers"):
            if not current["metadata"].get("deletionTimestamp"):
                current["metadata"]["deletionTimestamp"] = now()
                self.stamp(current)
        else:
            del self.objects[(namespace, name)]
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": name,
                "group": "serving.kserve.io",
                "kind": "inferenceservices",
                "uid": current["metadata"]["uid"],
            },
        }


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate(obj: dict[str, Any], generated: bool = True) -> None:
    """422 with every problem, as the API server reports an invalid object."""
    problems = schema_violations(obj) + object_violations(obj, generated=False)
    if generated:
        problems += [p for p in object_violations(obj) if "set by" in p]
    if problems:
        name = (obj.get("metadata") or {}).get("name")
        raise ApiError(
            422, f'InferenceService.serving.kserve.io "{name}" is invalid: ' + "; ".join(problems)
        )


class FakeKubeApi:
    """The store behind an HTTP server on 127.0.0.1 (start with `running()`)."""

    def __init__(self) -> None:
        self.store = InferenceServiceStore()
        self.requests: list[Request] = []
        self.failures: list[tuple[int, str | None]] = []
        self.server: ThreadingHTTPServer | None = None
        self.url = ""

    @contextmanager
    def running(self) -> Iterator[FakeKubeApi]:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join()

    def fail_with(self, status: int, method: str | None = None, times: int = 1) -> None:
        """Answer the next `times` requests (of `method`, or any) with `status`."""
        self.failures += [(status, method)] * times

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method in {"POST", "PUT", "PATCH", "DELETE"}]

    def objects(self, namespace: str) -> dict[str, dict[str, Any]]:
        with self.store.lock:
            return {
                name: copy.deepcopy(obj)
                for (ns, name), obj in self.store.objects.items()
                if ns == namespace
            }

    def handle(self, method: str, url: str, content_type: str, body: Any) -> tuple[int, Any]:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        self.requests.append(Request(method, parts.path, query, content_type))
        for index, (code, only) in enumerate(self.failures):
            if only in (None, method):
                del self.failures[index]
                raise ApiError(code, f"injected failure {code}")
        found = PATH.fullmatch(parts.path)
        if not found:
            raise ApiError(404, f"the server could not find the requested resource {parts.path}")
        namespace, name, status = found.group(1), found.group(2), bool(found.group(3))
        with self.store.lock:
            return self.route(method, namespace, name, status, query, content_type, body)

    def route(
        self,
        method: str,
        namespace: str,
        name: str | None,
        status: bool,
        query: dict[str, list[str]],
        content_type: str,
        body: Any,
    ) -> tuple[int, Any]:
        store = self.store
        if name is None and method == "GET":
            return 200, store.list(namespace, (query.get("labelSelector") or [""])[0])
        if name is None and method == "POST":
            return 201, store.create(namespace, body)
        if name is None:
            raise ApiError(405, f"{method} not allowed on the collection")
        if method == "GET":
            return 200, copy.deepcopy(store.find(namespace, name))
        if method == "PUT":
            return 200, store.replace(namespace, name, body, status)
        if method == "PATCH" and content_type != "application/merge-patch+json":
            raise ApiError(
                415,
                f"the body of the request was in an unknown format - accepted "
                f"media types include: application/merge-patch+json "
                f"(not {content_type})",
            )
        if method == "PATCH":
            return 200, store.patch(namespace, name, body, status)
        if method == "DELETE":
            return 200, store.delete(namespace, name)
        raise ApiError(405, f"{method} not allowed")


def status_body(error: ApiError) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": error.message,
        "reason": error.reason,
        "code": error.code,
    }


def handler_for(api: FakeKubeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
            try:
                body = json.loads(raw) if raw else None
                code, document = api.handle(self.command, self.path, content_type, body)
            except ApiError as exc:
                code, document = exc.code, status_body(exc)
            except ValueError as exc:
                code, document = 400, status_body(ApiError(400, f"bad JSON: {exc}"))
            payload = json.dumps(document).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = answer  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler
