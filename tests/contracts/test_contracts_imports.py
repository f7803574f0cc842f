"""The contracts package stays what lets every part import it: the standard library only,
and no part; and registry_local, which knows no consumer, imports nothing else of ours."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.import_graph import PARTS, imported_roots, module_level_roots

REPO = Path(__file__).resolve().parents[2]


def test_contracts_import_the_standard_library_only() -> None:
    for path in (REPO / "contracts").glob("*.py"):
        imported = module_level_roots(path) - {"contracts", "__future__"}
        assert imported - set(sys.stdlib_module_names) == set(), path.name


def test_only_the_s3_client_imports_boto3_when_it_is_called() -> None:
    imported = imported_roots(REPO / "contracts") - set(sys.stdlib_module_names)
    assert imported - {"contracts", "__future__"} == {"boto3", "botocore"}
    assert imported_roots(REPO / "contracts", "s3.py") >= {"boto3", "botocore"}


def test_registry_local_imports_no_other_part() -> None:
    others = PARTS - {"registry_local"} | {"mr_client"}
    assert imported_roots(REPO / "registry_local") & others == set()
    assert "contracts" in imported_roots(REPO / "registry_local")


def test_an_import_of_a_part_is_seen(tmp_path: Path) -> None:
    (tmp_path / "probe.py").write_text(
        "from serving.settings import ServerSettings\nimport stack.proc\nfrom . import x\n"
    )
    assert imported_roots(tmp_path) == {"serving", "stack"}
