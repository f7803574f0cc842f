"""Run a committed notebook headless with papermill, as the notebook tests do."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import papermill

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
