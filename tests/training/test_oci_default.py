"""OCI_REGISTRY's documented default (localhost:5000) applies outside `make up` too: modelcars
go there when a registry answers; when none does, one sentence says the version gets none."""

from __future__ import annotations

import pytest

from stack.proc import ServiceProcess, free_port
from training import modelcar
from training.modelcar import OciSettings


def test_unset_oci_registry_with_nothing_at_the_default_says_so_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"localhost:{free_port()}"
    monkeypatch.setattr(modelcar, "DEFAULT_OCI_REGISTRY", address)
    monkeypatch.delenv("OCI_REGISTRY", raising=False)
    assert OciSettings.from_env() is None
    said = capsys.readouterr().out.strip()
    assert said.endswith(".")
    assert ". " not in said  # one sentence
    assert f"No modelcar for this version: nothing answers at {address}" in said


def test_empty_oci_registry_turns_modelcars_off_quietly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OCI_REGISTRY", "")
    assert OciSettings.from_env() is None
    assert capsys.readouterr().out == ""


def test_a_named_registry_is_used_without_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OCI_REGISTRY", f"127.0.0.1:{free_port()}")
    settings = OciSettings.from_env()
    assert settings is not None  # its push fails loudly later (test_publish_modelcar.py)


@pytest.mark.server
def test_unset_oci_registry_uses_the_default_when_it_answers(
    monkeypatch: pytest.MonkeyPatch, oci_registry: ServiceProcess
) -> None:
    monkeypatch.setattr(modelcar, "DEFAULT_OCI_REGISTRY", oci_registry.address)
    monkeypatch.delenv("OCI_REGISTRY", raising=False)
    assert OciSettings.from_env() == OciSettings(oci_registry.address)
