"""The committed notebooks: outputs stripped, parameterized for papermill, thin over `training`."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from tests.notebooks.runner import NOTEBOOK_DIR

NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_train_dense_v1.ipynb",
    "02_train_cnn_v2.ipynb",
    "03_registry_rest_api.ipynb",
    "04_call_deployed_models.ipynb",
]


def code_cells(path: Path) -> list[nbformat.NotebookNode]:
    notebook = nbformat.read(path, as_version=4)
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_notebook_dir_holds_the_four_tutorials() -> None:
    assert [path.name for path in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    for cell in code_cells(path):
        assert cell.outputs == [], f"{path.name}: a cell has outputs; clear them before committing"
        assert cell.execution_count is None, f"{path.name}: a cell has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_valid_and_has_one_parameters_cell(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    tagged = [cell for cell in code_cells(path) if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1
    assert "registry_url = None" in tagged[0].source
    assert notebook.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_cells_use_training_package_not_tensorflow(path: Path) -> None:
    sources = "\n".join(cell.source for cell in code_cells(path))
    assert "from training." in sources
    assert "import tensorflow" not in sources
    assert max(len(cell.source.splitlines()) for cell in code_cells(path)) <= 25
