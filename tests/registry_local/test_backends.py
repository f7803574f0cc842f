"""The store suite on every backend: SQLite, PostgreSQL and MariaDB (the last two marked db)."""

from __future__ import annotations

import itertools

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine

from registry_local.database import VERSION_TABLE
from registry_local.schema import metadata

from .support import Api, Factory, bool_property, double_property, int_property, string_property


def test_backend_schema_matches_the_model(backend_engine: Engine) -> None:
    with backend_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        assert compare_metadata(context, metadata) == []


def test_backend_entities_round_trip(backend_api: Api) -> None:
    make = Factory(backend_api)
    properties = {
        "note": string_property("ünïcödé ✓ " + "x" * 70_000),
        "epochs": int_property(-9223372036854775808),
        "trained_at": int_property(1732270000000),
        "accuracy": double_property(1e-300),
        "ok": bool_property(False),
    }
    model = make.model("MNIST", customProperties=properties, language=["en"], readme="# Hi")
    assert backend_api.ok(f"registered_models/{model['id']}") == model
    version = make.version(model, "v1", author="ana")
    artifact = make.artifact(version, name="MNIST", modelFormatName="onnx")
    assert backend_api.ok(f"model_versions/{version['id']}/artifacts")["items"] == [artifact]
    assert [model["id"], version["id"], artifact["id"]] == ["1", "2", "1"]
    found = backend_api.ok("model_artifact", name="MNIST", parentResourceId=version["id"])
    assert found == artifact


def test_backend_names_are_case_sensitive_and_unique(backend_api: Api) -> None:
    make = Factory(backend_api)
    model = make.model("MNIST")
    make.model("mnist")
    assert backend_api.post("registered_models", {"name": "MNIST"}).status_code == 409
    make.version(model, "v1")
    body = {"name": "v1", "registeredModelId": model["id"]}
    assert backend_api.post("model_versions", body).status_code == 409
    assert len(backend_api.ok("model_versions")["items"]) == 1
    assert backend_api.ok("registered_model", name="mnist")["name"] == "mnist"


def test_backend_rejected_write_leaves_no_trace(backend_api: Api) -> None:
    make = Factory(backend_api)
    model = make.model(customProperties={"a": string_property("1")})
    body = {"name": "MNIST", "customProperties": {"b": string_property("2")}}
    assert backend_api.post("registered_models", body).status_code == 409
    query = "b = '2'"
    assert backend_api.ok("registered_models", filterQuery=query)["items"] == []
    assert backend_api.ok("registered_models")["items"] == [model]


def test_backend_update_time_strictly_increases(backend_api: Api) -> None:
    model = Factory(backend_api).model()
    stamps = [int(model["lastUpdateTimeSinceEpoch"])]
    for number in range(5):
        body = {"description": str(number)}
        updated = backend_api.patch(f"registered_models/{model['id']}", body).json()
        stamps.append(int(updated["lastUpdateTimeSinceEpoch"]))
    assert stamps == sorted(set(stamps))


def test_backend_pages_in_every_order(backend_api: Api) -> None:
    make = Factory(backend_api)
    model = make.model()
    versions = [make.version(model, f"v{n}") for n in range(5)]
    for order_by, sort_order in itertools.product(
        ["ID", "CREATE_TIME", "LAST_UPDATE_TIME"], ["ASC", "DESC"]
    ):
        seen, token = [], ""
        while True:
            page = backend_api.ok(
                "model_versions",
                pageSize="2",
                orderBy=order_by,
                sortOrder=sort_order,
                nextPageToken=token,
            )
            seen += [item["id"] for item in page["items"]]
            token = page["nextPageToken"]
            if not token:
                break
        ids = [version["id"] for version in versions]
        assert seen == (ids if sort_order == "ASC" else ids[::-1])


def test_backend_filter_query(backend_api: Api) -> None:
    make = Factory(backend_api)
    tf = make.model(
        "Mnist-TF",
        customProperties={"framework": string_property("TensorFlow"), "acc": double_property(0.9)},
    )
    torch = make.model(
        "mnist-torch",
        customProperties={"framework": string_property("torch"), "acc": int_property(1)},
    )

    def names(query: str) -> list[str]:
        return [
            item["name"] for item in backend_api.ok("registered_models", filterQuery=query)["items"]
        ]

    assert names("name LIKE 'mnist%'") == [torch["name"]]
    assert names("name ILIKE 'MNIST%'") == [tf["name"], torch["name"]]
    assert names("framework ILIKE 'tensor%'") == [tf["name"]]
    assert names("acc >= 0.95") == [torch["name"]]
    assert names("acc.double_value < 1 OR framework IN ('torch')") == [tf["name"], torch["name"]]


def test_backend_experiment_metric_history(backend_api: Api) -> None:
    make = Factory(backend_api)
    run = make.run(make.experiment())
    for step, value in enumerate((0.5, 0.3, 0.1)):
        body = {"artifactType": "metric", "name": "loss", "value": value, "step": step}
        backend_api.post(f"experiment_runs/{run['id']}/artifacts", body)
    history = backend_api.ok(f"experiment_runs/{run['id']}/metric_history", stepIds="1,2")
    assert [item["value"] for item in history["items"]] == [0.3, 0.1]


def test_backend_inference_service_and_serves(backend_api: Api) -> None:
    make = Factory(backend_api)
    environment, model = make.environment(), make.model()
    version = make.version(model)
    service = make.service(environment, model, modelVersionId=version["id"])
    path = f"inference_services/{service['id']}"
    body = {"modelVersionId": version["id"], "lastKnownState": "COMPLETE"}
    serve = backend_api.created(f"{path}/serves", body)
    assert backend_api.ok(f"{path}/serves")["items"] == [serve]
    assert backend_api.ok(f"{path}/version") == version
