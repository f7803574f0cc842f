"""The contracts package stays what lets every part import it: the standard library only,
and no part; and registry_local, which knows no consumer, imports nothing else of ours."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PARTS = {"registry_local", "serving", "training", "app", "pipelines", "stack", "mr_client"}


def imported_packages(root: Path) -> set[str]:
    """Top-level names every module below `root` imports (relative imports left out)."""
    names: set[str] = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


def test_contracts_import_the_standard_library_only() -> None:
    imported = imported_packages(REPO / "contracts") - {"contracts", "__future__"}
    assert imported - set(sys.stdlib_module_names) == set()


def test_registry_local_imports_no_other_part() -> None:
    assert imported_packages(REPO / "registry_local") & (PARTS - {"registry_local"}) == set()
    assert "contracts" in imported_packages(REPO / "registry_local")


def test_an_import_of_a_part_is_seen(tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(
        "from serving.settings import ServerSettings\nimport stack.proc\nfrom . import x\n"
    )
    assert imported_packages(tmp_path) == {"serving", "stack"}
