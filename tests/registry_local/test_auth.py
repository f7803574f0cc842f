"""Bearer token: with one configured, every request without it gets 401 and changes nothing.

"Every request" is every route of the router on every prefix and with every method it has,
plus each prefix's openapi.yaml, unknown paths and methods: all answer 401 before routing.
Only `/readyz/health` stays open (liveness probes; it reveals nothing but "OK").
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from registry_local.app import create_app
from registry_local.handlers import build_router
from registry_local.settings import Settings

from .support import Api, Factory, Seeded, seed_one_of_each, snapshot

TOKEN = "s3cret-t0ken"
GOOD = {"Authorization": f"Bearer {TOKEN}"}
PREFIXES = ("v1alpha3", "v1", "v1alpha1")
BASIC = "Basic " + base64.b64encode(f"user:{TOKEN}".encode()).decode()
BAD_CREDENTIALS: dict[str, list[tuple[str, str]]] = {
    "missing": [],
    "wrong token": [("Authorization", "Bearer wrong")],
    "token prefix": [("Authorization", f"Bearer {TOKEN[:-1]}")],
    "token and more": [("Authorization", f"Bearer {TOKEN}x")],
    "empty bearer": [("Authorization", "Bearer ")],
    "two spaces": [("Authorization", f"Bearer  {TOKEN}")],
    "bare token": [("Authorization", TOKEN)],
    "token scheme": [("Authorization", f"Token {TOKEN}")],
    "basic scheme": [
        ("Authorization", f"Basic {base64.b64encode(f'u:{TOKEN}'.encode()).decode()}")
    ],
    "right and wrong header": [("Authorization", GOOD["Authorization"]), ("Authorization", "x")],
    "other header": [("X-Auth-Token", TOKEN)],
}


@pytest.fixture
def protected_app(engine: Engine) -> Any:
    return create_app(Settings(auth_token=TOKEN), engine)


@pytest.fixture
def protected(protected_app: Any) -> Iterator[TestClient]:
    """A client that sends no token unless a request adds one."""
    with TestClient(protected_app) as client:
        yield client


@pytest.fixture
def admin(protected_app: Any) -> Iterator[Api]:
    """A client that sends the right token with every request."""
    with TestClient(protected_app, headers=GOOD) as client:
        yield Api(client)


@pytest.fixture
def seeded(admin: Api) -> Seeded:
    return seed_one_of_each(Factory(admin))


def write_bodies(seeded: Seeded) -> dict[str, dict[str, Any]]:
    """A body each POST route accepts (so a refused request would really have written)."""
    model, version = seeded.id_for("registered_models"), seeded.id_for("model_versions")
    environment = seeded.id_for("serving_environments")
    artifact = {"artifactType": "model-artifact", "uri": "s3://models/x/model.onnx"}
    return {
        "registered_models": {"name": "intruder"},
        "model_versions": {"name": "intruder-1", "registeredModelId": model},
        "registered_models/*/versions": {"name": "intruder-2", "registeredModelId": model},
        "serving_environments": {"name": "intruder"},
        "inference_services": {"registeredModelId": model, "servingEnvironmentId": environment},
        "serving_environments/*/inference_services": {
            "registeredModelId": model,
            "servingEnvironmentId": environment,
        },
        "inference_services/*/serves": {"modelVersionId": version},
        "experiments": {"name": "intruder"},
        "experiment_runs": {"experimentId": seeded.id_for("experiments"), "name": "intruder-1"},
        "experiments/*/experiment_runs": {
            "name": "intruder-2",
            "experimentId": seeded.id_for("experiments"),
        },
        "artifacts": {**artifact, "name": "intruder-1"},
        "model_artifacts": {**artifact, "name": "intruder-2"},
        "model_versions/*/artifacts": {**artifact, "name": "intruder-3"},
        "experiment_runs/*/artifacts": {"artifactType": "metric", "name": "loss", "value": 1.0},
    }


def every_route(seeded: Seeded, prefix: str) -> Iterator[tuple[str, str, dict[str, Any] | None]]:
    """(method, URL, JSON body) of every route the router has, on `prefix`."""
    bodies = write_bodies(seeded)
    for segments, methods in build_router().routes.items():
        pattern = "/".join(segments)
        path = pattern.replace("*", seeded.id_for(segments[0])) if "*" in segments else pattern
        query = "?name=MNIST" if len(segments) == 1 and segments[0] + "s" in bodies else ""
        for method in methods:
            body = {"description": "intruder"} if method == "PATCH" else bodies.get(pattern)
            yield method, f"/api/model_registry/{prefix}/{path}{query}", body


def beyond_the_routes(prefix: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    root = f"/api/model_registry/{prefix}"
    return [
        ("GET", f"{root}/openapi.yaml", None),
        ("GET", f"{root}/no_such_collection", None),
        ("DELETE", f"{root}/registered_models/1", None),
        ("PUT", f"{root}/registered_models/1", {"name": "intruder"}),
        ("GET", "/api/model_registry/v9/registered_models", None),
        ("GET", "/", None),
    ]


@pytest.mark.parametrize("credentials", BAD_CREDENTIALS)
@pytest.mark.parametrize("prefix", PREFIXES)
def test_request_without_the_token_is_401_and_changes_nothing(
    protected: TestClient, admin: Api, seeded: Seeded, prefix: str, credentials: str
) -> None:
    before = snapshot(admin, seeded)
    requests = [*every_route(seeded, prefix), *beyond_the_routes(prefix)]
    for method, url, body in requests:
        response = protected.request(method, url, json=body, headers=BAD_CREDENTIALS[credentials])
        assert response.status_code == 401, (method, url, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        if method == "HEAD":  # a HEAD answer has headers only
            continue
        assert response.json()["code"] == "Unauthorized"
        assert "Bearer" in response.json()["message"]
    assert snapshot(admin, seeded) == before
    assert len(requests) > 60


@pytest.mark.parametrize("prefix", PREFIXES)
def test_request_with_the_token_reaches_every_route(
    protected: TestClient, seeded: Seeded, prefix: str
) -> None:
    for method, url, body in every_route(seeded, prefix):
        response = protected.request(method, url, json=body, headers=GOOD)
        expected = {"POST": (200, 201), "PATCH": (200,)}.get(method, (200, 404))
        assert response.status_code in expected, (method, url, response.text)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_bearer_scheme_is_case_insensitive(protected: TestClient, scheme: str) -> None:
    headers = {"Authorization": f"{scheme} {TOKEN}"}
    response = protected.get("/api/model_registry/v1alpha3/registered_models", headers=headers)
    assert response.status_code == 200


def test_health_needs_no_token(protected: TestClient) -> None:
    response = protected.get("/readyz/health")
    assert (response.status_code, response.json()) == (200, {"status": "OK"})


def test_no_token_configured_needs_no_header(client: TestClient) -> None:
    assert client.get("/api/model_registry/v1alpha3/registered_models").status_code == 200
