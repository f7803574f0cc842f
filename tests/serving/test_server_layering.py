"""The inference server does not know its controller: the controller imports the server's
names and client, never the other way round, so `python -m serving` carries no registry
client and no Kubernetes code (issue 21: no import runs back up)."""

from __future__ import annotations

from pathlib import Path

from tests.import_graph import PARTS, module_closure

REPO = Path(__file__).resolve().parents[2]
FIRST_PARTY = PARTS | {"contracts", "mr_client"}


def server_modules() -> set[str]:
    return module_closure(REPO, {"serving.__main__"}, FIRST_PARTY)


def test_the_walk_reaches_the_whole_server() -> None:
    assert {"serving.app", "serving.grpc_api", "serving.rest", "serving.oci"} <= server_modules()


def test_the_inference_server_imports_nothing_of_the_controller() -> None:
    assert {name for name in server_modules() if name.startswith("serving.controller")} == set()
    assert {name.split(".")[0] for name in server_modules()} <= {"serving", "contracts"}


def test_kserve_code_lives_under_the_controller() -> None:
    controller = module_closure(REPO, {"serving.controller.__main__"}, FIRST_PARTY)
    kserve = {name for name in controller if "kserve" in name}
    assert "serving.controller.kserve.api" in kserve
    assert all(name.startswith("serving.controller.") for name in kserve)
