"""One error shape for every failure; bad requests change nothing; routing and auth errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from registry_local.app import create_app
from registry_local.settings import Settings

from .support import Api, Factory


def assert_error(response: object, status: int) -> None:
    assert getattr(response, "status_code", None) == status
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"code", "message"}
    assert isinstance(body["message"], str)
    assert "Traceback" not in body["message"]


@pytest.mark.parametrize("raw", [b"{", b"", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"name": NaN}'])
def test_create_with_malformed_json_is_400(api: Api, raw: bytes) -> None:
    assert_error(api.send("POST", "registered_models", raw), 400)
    assert api.ok("registered_models")["items"] == []


def test_update_with_malformed_json_changes_nothing(api: Api, make: Factory) -> None:
    model = make.model()
    assert_error(api.send("PATCH", f"registered_models/{model['id']}", b"{oops"), 400)
    assert api.ok(f"registered_models/{model['id']}") == model


def test_root_is_404(client: TestClient) -> None:
    assert_error(client.get("/"), 404)


@pytest.mark.parametrize(
    "path",
    [
        "/api/model_registry/v9/registered_models",
        "/api/model_registry/v1alpha3/nothing_here",
        "/api/model_registry/v1alpha3/registered_models/1/nothing",
        "/somewhere/else",
    ],
)
def test_unknown_path_is_404(client: TestClient, path: str) -> None:
    assert_error(client.get(path), 404)


def test_wrong_method_is_405(client: TestClient) -> None:
    assert_error(client.delete("/api/model_registry/v1alpha3/registered_models"), 405)
    assert_error(client.put("/api/model_registry/v1alpha3/registered_models/1", json={}), 405)


def test_health_answers_ok(client: TestClient) -> None:
    response = client.get("/readyz/health")
    assert (response.status_code, response.json()) == (200, {"status": "OK"})


def test_body_over_the_limit_is_413(engine: Engine) -> None:
    app = create_app(Settings(max_body_bytes=100), engine)
    with TestClient(app) as client:
        body = {"name": "m", "description": "x" * 200}
        response = client.post("/api/model_registry/v1alpha3/registered_models", json=body)
        assert_error(response, 413)
        small = client.post("/api/model_registry/v1alpha3/registered_models", json={"name": "m"})
        assert small.status_code == 201


def test_server_error_has_the_error_shape(engine: Engine, tmp_path: Path) -> None:
    engine.dispose()
    (tmp_path / "registry.db").unlink()
    (tmp_path / "registry.db").mkdir()
    with TestClient(create_app(Settings(), engine), raise_server_exceptions=False) as client:
        response = client.get("/api/model_registry/v1alpha3/registered_models")
        assert_error(response, 500)
