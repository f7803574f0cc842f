"""Demo settings: precedence and documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.__main__ import main as stack_main
from stack.bootstrap import DemoIds, print_welcome
from stack.settings import SETTINGS, StackSettings, port_of

REPO = Path(__file__).resolve().parents[2]


def test_load_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for setting in SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    settings = StackSettings.load()
    assert settings.registry_url == "http://localhost:8080"
    assert settings.serving_url == "http://localhost:8008"
    assert settings.s3_endpoint == "http://localhost:9000"
    assert settings.app_port == 8501
    assert settings.state_dir == Path(".state")


def test_load_settings_flag_beats_env_beats_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATE_DIR", "/tmp/from-env")
    monkeypatch.setenv("APP_PORT", "9501")
    settings = StackSettings.load({"state_dir": "/tmp/from-flag", "app_port": None})
    assert settings.state_dir == Path("/tmp/from-flag")
    assert settings.app_port == 9501


def test_load_settings_bad_port_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_PORT", "eighty")
    with pytest.raises(ValueError, match="eighty"):
        StackSettings.load()


@pytest.mark.parametrize(
    ("env", "value", "refusal"),
    [
        ("APP_PORT", "eighty", "--app-port / APP_PORT must be a whole number (got 'eighty')"),
        ("LAB_PORT", "70000", "--lab-port / LAB_PORT must be a port number, 0 to 65535"),
        ("SERVING_GRPC_PORT", "-1",
         "--serving-grpc-port / SERVING_GRPC_PORT must be a port number, 0 to 65535 (got '-1')"),
    ],
)  # fmt: skip
def test_cli_refuses_a_bad_setting_with_its_names(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: str,
    value: str,
    refusal: str,
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SystemExit) as exited:
        stack_main(["status"])
    assert exited.value.code == 2
    assert refusal in capsys.readouterr().err


@pytest.mark.parametrize("registry", ["localhost:5123", "localhost:5123/team"])
def test_oci_registry_url_and_port_leave_out_a_namespace(
    monkeypatch: pytest.MonkeyPatch, registry: str
) -> None:
    monkeypatch.setenv("OCI_REGISTRY", registry)
    settings = StackSettings.load()
    assert (settings.oci_url, settings.oci_port) == ("http://localhost:5123", 5123)
    assert settings.service_env()["OCI_REGISTRY"] == registry


@pytest.mark.parametrize(("grpc_port", "grpc_url"), [("8133", "127.0.0.1:8133"), ("0", None)])
def test_demo_processes_find_the_grpc_port_in_serving_grpc_url(
    monkeypatch: pytest.MonkeyPatch, grpc_port: str, grpc_url: str | None
) -> None:
    monkeypatch.setenv("SERVING_URL", "http://127.0.0.1:8108")
    monkeypatch.setenv("SERVING_GRPC_PORT", grpc_port)
    settings = StackSettings.load()
    assert settings.service_env().get("SERVING_GRPC_URL") == grpc_url
    assert "SERVING_GRPC_PORT" not in settings.service_env()  # the server's own, as --grpc-port


@pytest.mark.parametrize(
    ("url", "port"),
    [("http://localhost:8080", 8080), ("http://example", 80), ("https://example", 443)],
)
def test_port_of_url(url: str, port: int) -> None:
    assert port_of(url) == port


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.env)
def test_every_setting_documented_in_readme(setting: object) -> None:
    assert f"`{setting.env}`" in (REPO / "README.md").read_text()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("grpc_port", "line"),
    [
        ("8133", "gRPC (OIP v2):        localhost:8133 (SERVING_GRPC_URL;"),
        ("0", "gRPC (OIP v2):        off (SERVING_GRPC_PORT=0)"),
    ],
)
def test_welcome_says_where_grpc_clients_connect(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], grpc_port: str, line: str
) -> None:
    monkeypatch.setenv("SERVING_GRPC_PORT", grpc_port)
    ids = DemoIds("1", "2", ("3", "4", "5"), "4", "6", "7 (99.8%)")
    print_welcome(StackSettings.load(), ids, with_lab=False, foreground=True)
    printed = capsys.readouterr().out
    assert line in printed
    assert "Notebook 04_call_deployed_models calls every deployed model" in printed
