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
    return {name.split(".")[0] for name in imported_names(nodes)}


def imported_names(nodes: Iterator[ast.AST]) -> set[str]:
    """Dotted names the import statements among `nodes` import: `a.b` for `import a.b`, and
    for `from a import b` both `a` and `a.b` (b may be a submodule or only a name in `a`)."""
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def module_file(repo: Path, dotted: str) -> Path | None:
    """The file of first-party module `dotted` (a package's `__init__.py`), if there is one."""
    base = repo.joinpath(*dotted.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def module_closure(repo: Path, entries: set[str], first_party: frozenset[str]) -> set[str]:
    """Every first-party module that running `entries` can import, transitively (with each
    package a module sits in, whose `__init__` runs first)."""
    seen: set[str] = set()
    todo = list(entries)
    while todo:
        dotted = todo.pop()
        parents = [".".join(dotted.split(".")[:i]) for i in range(1, dotted.count(".") + 1)]
        for name in [dotted, *parents]:
            if name in seen or name.split(".")[0] not in first_party:
                continue
            path = module_file(repo, name)  # None: a name in a module, not a module
            if path is not None:
                seen.add(name)
                todo.extend(imported_names(ast.walk(ast.parse(path.read_text()))))
    return seen
