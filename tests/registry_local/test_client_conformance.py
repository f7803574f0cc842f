"""The upstream client (`model-registry` 0.3.18, unchanged) against a real registry_local:
good and bad input side by side, the bad ones with upstream's status and body and nothing
stored. Flows not covered here are in test_upstream_client.py (register, get, update, every
pager ordering, bearer tokens); the REST answers of every endpoint in test_conformance_table.py.

The client has no experiment methods (see docs/conformance.md), so experiment runs and their
metric history are driven over REST here, as a notebook would with `requests`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
import model_registry
import pytest
from model_registry.exceptions import StoreError
from model_registry.types import (
    DocArtifact,
    ListOptions,
    ModelArtifact,
    ModelVersion,
    Pager,
    RegisteredModel,
)
from mr_openapi import ModelVersionCreate
from mr_openapi import exceptions as api_errors

from .support import COLLECTIONS

pytestmark = [pytest.mark.server, pytest.mark.filterwarnings("ignore:User access token")]

T = TypeVar("T")
API = "/api/model_registry/v1"  # the prefix the client calls
REQUIRED_NAME = {"code": "Bad Request", "message": "required field 'name' is zero value."}


@pytest.fixture
def server(registry_server: Any) -> Any:
    return registry_server


@pytest.fixture
def registry(server: Any) -> Any:
    return model_registry.ModelRegistry(
        "http://127.0.0.1", server.port, author="tester", is_secure=False
    )


@pytest.fixture
def rest(server: Any) -> Any:
    with httpx.Client(base_url=server.url + API, timeout=30) as client:
        yield client


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """An async client call from plain code, as a notebook cell with `asyncio.run` does."""
    return asyncio.run(coroutine)


def refused(error: pytest.ExceptionInfo[api_errors.ApiException]) -> tuple[int, dict[str, Any]]:
    """The status and JSON body of a request the server refused."""
    return error.value.status, json.loads(error.value.body)


def stored(rest: httpx.Client) -> dict[str, Any]:
    return {name: rest.get(f"/{name}", params={"pageSize": "1000"}).json() for name in COLLECTIONS}


def register(registry: Any, version: str, **extra: Any) -> Any:
    return registry.register_model(
        "MNIST", f"s3://models/MNIST/{version}/model.onnx", version=version,
        model_format_name="onnx", model_format_version="1", **extra,
    )  # fmt: skip


def test_standalone_model_artifact_then_linked_to_a_version(registry: Any, rest: Any) -> None:
    """Upstream's regression test for kubeflow/model-registry#231, through the same calls."""

    async def create() -> ModelArtifact:
        async with registry._api.get_client() as api:
            raw = await api.create_model_artifact(ModelArtifact(uri="s3").create())
        return ModelArtifact.from_basemodel(raw)  # asserts a name: upstream generates one

    standalone = run(create())
    assert standalone.id
    assert (len(standalone.name), standalone.uri) == (36, "s3")
    named = run(registry._api.upsert_model_artifact(ModelArtifact(name="onnx", uri="s3://b/m")))
    assert (named.name, named.uri) == ("onnx", "s3://b/m")
    register(registry, "v1")
    version = registry.get_model_version("MNIST", "v1")
    linked = run(registry._api.upsert_model_version_artifact(standalone, version.id))
    assert linked.id == standalone.id
    listed = run(registry._api.get_model_version_artifacts(version.id))
    assert standalone.id in [artifact.id for artifact in listed]
    before = stored(rest)
    missing = ModelArtifact(id="99", uri="x")
    with pytest.raises(api_errors.BadRequestException) as error:
        run(registry._api.upsert_model_version_artifact(missing, version.id))
    status, body = refused(error)
    assert (status, body["code"]) == (400, "Bad Request")
    with pytest.raises(api_errors.ConflictException) as error:
        run(registry._api.upsert_model_artifact(ModelArtifact(name="onnx", uri="s3://other")))
    message = "model artifact with name onnx already exists: conflict"
    assert refused(error) == (409, {"code": "Conflict", "message": message})
    assert stored(rest) == before


def test_register_model_good_and_bad(registry: Any, rest: Any) -> None:
    long_text = "A long model card line.\n" * 40_000  # ~1 MiB, accepted as upstream does
    model = register(registry, "v1", metadata={"accuracy": 0.98}, version_description=long_text)
    version = registry.get_model_version("MNIST", "v1")
    assert (version.description, version.custom_properties) == (long_text, {"accuracy": 0.98})
    doc = DocArtifact(name="README", uri="https://example.com/MNIST/README.md")
    run(registry._api.upsert_model_version_artifact(doc, version.id))
    kinds = {type(a).__name__ for a in run(registry._api.get_model_version_artifacts(version.id))}
    assert kinds == {"ModelArtifact", "DocArtifact"}  # upstream's "longer documentation" story
    limit = 255 - len(model.id) - 1
    assert register(registry, "v" * limit).id == model.id
    before = stored(rest)
    with pytest.raises(StoreError, match="already exists"):
        register(registry, "v1")
    with pytest.raises(api_errors.BadRequestException) as error:
        register(registry, "v" * (limit + 1))
    status, body = refused(error)
    assert (status, body["code"]) == (400, "Bad Request")
    assert f"more than the {limit}" in body["message"]
    assert stored(rest) == before


def test_missing_required_field_is_upstreams_422(registry: Any, rest: Any) -> None:
    model = register(registry, "v1")

    async def create_version(name: str) -> Any:
        """The generated API's own call; an empty name passes its pydantic check unvalidated."""
        body = ModelVersionCreate.model_construct(name=name, registered_model_id=model.id)
        async with registry._api.get_client() as api:
            return await api.create_model_version(body)

    assert run(create_version("v2")).name == "v2"
    before = stored(rest)
    with pytest.raises(api_errors.UnprocessableEntityException) as error:
        run(create_version(""))
    assert refused(error) == (422, REQUIRED_NAME)
    response = rest.post("/registered_models", json={"name": "x", "ext_id": 123})
    assert (response.status_code, response.json()) == (
        400, {"code": "Bad Request", "message": 'json: unknown field "ext_id"'}
    )  # fmt: skip
    assert stored(rest) == before


def test_update_and_archive_good_and_bad(registry: Any, rest: Any, server: Any) -> None:
    register(registry, "v1")
    version = registry.get_model_version("MNIST", "v1")
    version.state = "ARCHIVED"
    assert registry.update(version).state == "ARCHIVED"
    assert registry.get_model_version("MNIST", "v1").state == "ARCHIVED"
    model = registry.get_registered_model("MNIST")
    model.state = "ARCHIVED"
    assert registry.update(model).state == "ARCHIVED"
    artifact = registry.get_model_artifact("MNIST", "v1")
    artifact.storage_path = "MNIST/v1"
    assert registry.update(artifact).storage_path == "MNIST/v1"
    before = stored(rest)
    for missing in (ModelVersion(id="99", name="v9"), RegisteredModel(id="99", name="x")):
        with pytest.raises(api_errors.NotFoundException) as error:
            registry.update(missing)
        kind = "model version" if isinstance(missing, ModelVersion) else "registered model"
        assert refused(error) == (
            404, {"code": "Not Found", "message": f"no {kind} found for id 99: not found"}
        )  # fmt: skip
    own_loop = model_registry.ModelRegistry(
        "http://127.0.0.1", server.port, author="tester", is_secure=False,
        async_runner=asyncio.run,
    )  # fmt: skip
    assert own_loop.get_registered_model("MNIST").state == "ARCHIVED"
    assert registry.get_registered_model("nothing") is None
    assert registry.get_model_version("MNIST", "v9") is None
    with pytest.raises(StoreError, match="does not exist"):
        registry.get_model_artifact("MNIST", "v9")
    with pytest.raises(StoreError, match="does not exist"):
        registry.get_model_versions("nothing")
    assert stored(rest) == before


def test_async_listing_paging_and_bad_parameters(registry: Any, rest: Any) -> None:
    names = [f"model-{number}" for number in range(5)]
    for name in names:
        registry.register_model(name, "s3://x", version="1", model_format_name="onnx",
                                model_format_version="1")  # fmt: skip

    async def every_model(page_size: int) -> list[str]:
        pager = Pager(registry._api.get_registered_models).page_size(page_size).descending()
        return [model.name async for model in pager]

    assert run(every_model(2)) == names[::-1]
    options = ListOptions.order_by_creation_time(limit=2)
    assert [model.name for model in run(registry._api.get_registered_models(options))] == names[:2]
    assert options.next_page_token
    artifacts = run(registry._api.get_artifacts(filter_query="name = 'model-3'"))
    assert [artifact.uri for artifact in artifacts] == ["s3://x"]
    assert len(run(registry._api.get_model_artifacts(options=ListOptions(limit=10)))) == 5
    model = run(registry._api.get_registered_model_by_params("model-3"))
    assert run(registry._api.get_registered_model_by_id(model.id)) == model
    version = run(registry._api.get_model_version_by_params(model.id, "1"))
    assert run(registry._api.get_model_version_by_id(version.id)) == version
    artifact = run(registry._api.get_model_artifact_by_params("model-3", version.id))
    assert run(registry._api.get_model_artifact_by_id(artifact.id)) == artifact
    assert run(registry._api.get_registered_model_by_id("99")) is None
    before = stored(rest)
    calls: dict[str, Callable[[], Coroutine[Any, Any, Any]]] = {
        "nextPageToken": lambda: registry._api.get_registered_models(
            ListOptions(limit=2, next_page_token="garbage")
        ),
        "filterQuery": lambda: registry._api.get_artifacts(filter_query="name = = 'x'"),
    }
    for parameter, call in calls.items():
        with pytest.raises(api_errors.BadRequestException) as error:
            run(call())
        status, body = refused(error)
        assert (status, body["code"]) == (400, "Bad Request")
        assert parameter in body["message"]
    assert stored(rest) == before


def test_experiment_runs_and_metric_history_over_rest(rest: Any) -> None:
    experiment = rest.post("/experiments", json={"name": "mnist-training"}).json()
    body = {"experimentId": experiment["id"], "name": "run-1", "startTimeSinceEpoch": "1000"}
    run_id = rest.post("/experiment_runs", json=body).json()["id"]
    for step, loss in enumerate((0.9, 0.4, 0.2), start=1):
        metric = {"artifactType": "metric", "name": "loss", "value": loss, "step": step}
        response = rest.post(f"/experiment_runs/{run_id}/artifacts", json=metric)
        assert response.status_code == (201 if step == 1 else 200), response.text  # upsert-status
    history = rest.get(f"/experiment_runs/{run_id}/metric_history").json()["items"]
    assert [(item["step"], item["value"]) for item in history] == [(1, 0.9), (2, 0.4), (3, 0.2)]
    finished = {"status": "FINISHED", "endTimeSinceEpoch": "2000", "state": "ARCHIVED"}
    assert rest.patch(f"/experiment_runs/{run_id}", json=finished).json()["state"] == "ARCHIVED"
    before = stored(rest)
    bad = {
        "/experiment_runs": ({"name": "no experiment"}, 422),
        f"/experiment_runs/{run_id}/artifacts": ({"artifactType": "metric", "name": "acc"}, 400),
        "/experiments": ({"name": "mnist-training"}, 409),
    }
    for path, (payload, status) in bad.items():
        response = rest.post(path, json=payload)
        assert response.status_code == status, response.text
        assert set(response.json()) == {"code", "message"}
    assert rest.patch(f"/experiment_runs/{run_id}", json={"endTimeSinceEpoch": "500"}).json() == {
        "code": "Bad Request",
        "message": "endTimeSinceEpoch (500) cannot be less than startTimeSinceEpoch (1000)",
    }
    assert stored(rest) == before
    assert rest.get(f"/experiment_runs/{run_id}/metric_history").json()["items"] == history
