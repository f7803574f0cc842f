"""Test modules need unique basenames: pytest's default import mode keys modules by basename."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_test_module_basenames_unique() -> None:
    names = Counter(
        path.name for path in TESTS.rglob("*.py") if path.name not in {"conftest.py", "__init__.py"}
    )
    assert [name for name, count in names.items() if count > 1] == []
