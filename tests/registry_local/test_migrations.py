"""Alembic migrations: a database created by an older schema upgrades in place."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert, inspect
from starlette.testclient import TestClient

from registry_local.app import create_app
from registry_local.database import make_engine, migrate
from registry_local.schema import contexts
from registry_local.settings import Settings


def test_migrate_upgrades_an_existing_database_in_place(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate(engine, "0001")
    assert "metric_history" not in inspect(engine).get_table_names()
    with engine.begin() as connection:
        row = {"kind": "RegisteredModel", "parent_key": 0, "name": "MNIST", "state": "LIVE"}
        connection.execute(insert(contexts), {**row, "create_time": 1, "update_time": 1})
    migrate(engine)
    migrate(engine)
    assert "metric_history" in inspect(engine).get_table_names()
    with TestClient(create_app(Settings(), engine)) as client:
        prefix = "/api/model_registry/v1alpha3"
        models = client.get(f"{prefix}/registered_models").json()["items"]
        assert [(model["id"], model["name"]) for model in models] == [("1", "MNIST")]
        experiment = client.post(f"{prefix}/experiments", json={"name": "e"}).json()
        run = client.post(f"{prefix}/experiment_runs", json={"experimentId": experiment["id"]})
        metric = {"artifactType": "metric", "name": "loss", "value": 1.0}
        client.post(f"{prefix}/experiment_runs/{run.json()['id']}/artifacts", json=metric)
        history = client.get(f"{prefix}/experiment_runs/metric_history").json()
        assert history["size"] == 1
    engine.dispose()
