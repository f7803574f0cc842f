"""Experiments, runs, run artifacts (upsert by name) and metric history."""

from __future__ import annotations

from typing import Any

from .support import Api, Factory


def log(api: Api, run: dict[str, Any], body: dict[str, Any]) -> Any:
    return api.post(f"experiment_runs/{run['id']}/artifacts", body)


def test_create_experiment_run_defaults(api: Api, make: Factory) -> None:
    experiment = make.experiment(owner="me")
    run = make.run(experiment, name="r1", startTimeSinceEpoch="1700000000000")
    assert experiment["state"] == "LIVE"
    assert (run["status"], run["state"]) == ("RUNNING", "LIVE")
    assert run["startTimeSinceEpoch"] == "1700000000000"
    nested = api.created(
        f"experiments/{experiment['id']}/experiment_runs",
        {"name": "r2", "experimentId": experiment["id"]},
    )
    assert nested["experimentId"] == experiment["id"]
    listed = api.ok(f"experiments/{experiment['id']}/experiment_runs")["items"]
    assert listed == [run, nested]


def test_create_experiment_run_bad_input(api: Api, make: Factory) -> None:
    experiment = make.experiment()
    assert api.post("experiment_runs", {"name": "r"}).status_code == 422
    assert api.post("experiment_runs", {"experimentId": "42"}).status_code == 404
    body = {"experimentId": experiment["id"], "status": "DONE"}
    assert api.post("experiment_runs", body).status_code == 400
    body = {"experimentId": experiment["id"], "startTimeSinceEpoch": 5}
    assert api.post("experiment_runs", body).status_code == 400


def test_update_experiment_run_finishes_it(api: Api, make: Factory) -> None:
    run = make.run(make.experiment())
    body = {"status": "FINISHED", "endTimeSinceEpoch": "1700000001000"}
    finished = api.patch(f"experiment_runs/{run['id']}", body).json()
    assert (finished["status"], finished["endTimeSinceEpoch"]) == ("FINISHED", "1700000001000")


def test_log_metric_twice_updates_it_and_keeps_history(api: Api, make: Factory) -> None:
    experiment = make.experiment()
    run = make.run(experiment)
    first = log(api, run, {"artifactType": "metric", "name": "loss", "value": 0.5, "step": 1})
    assert first.status_code == 201
    assert first.json()["experimentRunId"] == run["id"]
    assert first.json()["experimentId"] == experiment["id"]
    second = log(api, run, {"artifactType": "metric", "name": "loss", "value": 0.2, "step": 2})
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert [
        item["value"] for item in api.ok(f"experiment_runs/{run['id']}/artifacts")["items"]
    ] == [0.2]
    history = api.ok(f"experiment_runs/{run['id']}/metric_history")["items"]
    assert [(item["value"], item["step"]) for item in history] == [(0.5, 1), (0.2, 2)]


def test_metric_history_filters(api: Api, make: Factory) -> None:
    runs = [make.run(make.experiment("e1")), make.run(make.experiment("e2"))]
    for run in runs:
        for step, name in ((1, "loss"), (2, "loss"), (1, "acc")):
            log(api, run, {"artifactType": "metric", "name": name, "value": step, "step": step})
    path = f"experiment_runs/{runs[0]['id']}/metric_history"
    assert len(api.ok(path, name="loss")["items"]) == 2
    assert len(api.ok(path, stepIds="2")["items"]) == 1
    assert len(api.ok("experiment_runs/metric_history", name="acc")["items"]) == 2
    query = f"experimentRunId = {runs[1]['id']} AND value > 1"
    assert len(api.ok("experiment_runs/metric_history", filterQuery=query)["items"]) == 1


def test_metric_history_bad_input(api: Api, make: Factory) -> None:
    run = make.run(make.experiment())
    assert api.get(f"experiment_runs/{run['id']}/metric_history", stepIds="1,x").status_code == 400
    assert api.get("experiment_runs/99/metric_history").status_code == 404
    bad_filter = {"filterQuery": "colour = 'red'"}
    assert api.get("experiment_runs/metric_history", **bad_filter).status_code == 400


def test_log_parameter_to_run(api: Api, make: Factory) -> None:
    run = make.run(make.experiment())
    body = {"artifactType": "parameter", "name": "lr", "value": "0.01", "parameterType": "number"}
    assert log(api, run, body).status_code == 201
    items = api.ok(f"experiment_runs/{run['id']}/artifacts", artifactType="parameter")["items"]
    assert [(item["name"], item["value"]) for item in items] == [("lr", "0.01")]


def test_find_experiment_and_run(api: Api, make: Factory) -> None:
    experiment = make.experiment("exp", externalId="e-1")
    run = make.run(experiment, name="r1")
    assert api.ok("experiment", externalId="e-1") == experiment
    assert api.ok("experiment_run", name="r1", parentResourceId=experiment["id"]) == run
    assert api.get("experiment_run", name="r2").status_code == 404
