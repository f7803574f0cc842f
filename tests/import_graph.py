"""What a package imports, read from its source: for the tests that hold DESIGN.md's
boundaries (which part may import which)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PARTS = frozenset({"registry_local", "serving", "training", "app", "pipelines", "stack"})


def imported_roots(root: Path, pattern: str = "*.py") -> set[str]:
    """Top-level names every module below `root` imports (relative imports left out)."""
    roots: set[str] = set()
    for path in root.rglob(pattern):
        roots |= import_roots(ast.walk(ast.parse(path.read_text())))
    return roots


def module_level_roots(path: Path) -> set[str]:
    """Top-level names one module imports when it is imported (not inside its functions)."""
    return import_roots(iter(ast.parse(path.read_text()).body))


def import_roots(nodes: Iterator[ast.AST]) -> set[str]:
    roots: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots
