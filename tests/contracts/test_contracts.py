"""Every part's defaults are the contract's, and the contract is the documented table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest

import app.settings
import pipelines.settings
import registry_local.settings
import serving.controller.config
import serving.settings
import stack.settings
from contracts import defaults as contract
from contracts.defaults import port_of
from contracts.settings import Setting
from pipelines.params import PipelineParams
from stack import seaweed
from training import modelcar, publish, storage

README = Path(__file__).resolve().parents[2] / "contracts" / "README.md"
ROW = re.compile(r"^\| [^|]+ \| `([A-Z0-9_]+)` \| `([^`]+)` \|$", re.MULTILINE)
TABLES: dict[str, Sequence[Setting]] = {
    "registry_local": registry_local.settings.SETTINGS,
    "serving": serving.settings.SERVER_SETTINGS,
    "controller": serving.controller.config.CONTROLLER_SETTINGS,
    "app": app.settings.SETTINGS,
    "stack": stack.settings.SETTINGS,
    "pipelines": pipelines.settings.SETTINGS,
}


def departures(table: Sequence[Setting]) -> list[str]:
    """Settings on a contract's variable whose default is not the contract's."""
    agreed = {row.env: row.default for row in contract.CONTRACTS}
    return [
        f"{setting.env}: {setting.default!r}, the contract says {agreed[setting.env]!r}"
        for setting in table
        if setting.env in agreed and setting.default != agreed[setting.env]
    ]


def test_contract_is_the_documented_table() -> None:
    documented = dict(ROW.findall(README.read_text()))
    assert documented == {row.env: row.default for row in contract.CONTRACTS}


@pytest.mark.parametrize("part", TABLES)
def test_every_part_declares_the_contract_defaults(part: str) -> None:
    assert departures(TABLES[part]) == []


def test_a_default_departing_from_the_contract_is_named() -> None:
    table = [Setting("registry_url", "MODEL_REGISTRY_URL", "http://localhost:9999", "help")]
    assert departures(table) == [
        "MODEL_REGISTRY_URL: 'http://localhost:9999', the contract says 'http://localhost:8080'"
    ]


def test_servers_listen_on_the_contract_ports() -> None:
    registry = registry_local.settings.build_settings([], {})
    assert (
        registry.port
        == registry_local.settings.Settings().port
        == port_of(contract.REGISTRY_URL.default)
    )
    server = serving.settings.ServerSettings.from_args([], {})
    assert server == serving.settings.ServerSettings()
    assert server.port == port_of(contract.SERVING_URL.default)
    assert server.grpc_port == int(contract.SERVING_GRPC_PORT.default)
    assert contract.SERVING_GRPC_URL.default.rsplit(":", 1)[1] == contract.SERVING_GRPC_PORT.default


def test_settings_objects_default_to_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    for row in contract.CONTRACTS:
        monkeypatch.delenv(row.env, raising=False)
    s3 = (
        contract.S3_ENDPOINT.default,
        contract.S3_BUCKET.default,
        contract.S3_ACCESS_KEY.default,
        contract.S3_SECRET_KEY.default,
    )
    server = serving.settings.ServerSettings()
    assert (server.s3_endpoint, server.bucket, server.access_key, server.secret_key) == s3
    assert (server.region, server.oci_registry) == (
        contract.S3_REGION.default,
        contract.OCI_REGISTRY.default,
    )
    controller = serving.controller.config.ControllerSettings()
    assert (controller.registry_url, controller.serving_url) == (
        contract.REGISTRY_URL.default,
        contract.SERVING_URL.default,
    )
    assert (controller.environment, controller.runtime) == (
        contract.SERVING_ENVIRONMENT.default,
        (contract.SERVING_RUNTIME.default,),
    )
    assert (controller.bucket, controller.oci_registry) == (
        contract.S3_BUCKET.default,
        contract.OCI_REGISTRY.default,
    )
    assert app.settings.AppSettings.load([], {}).registry_url == contract.REGISTRY_URL.default
    demo = stack.settings.StackSettings.load()
    assert (demo.registry_url, demo.serving_url, demo.s3_endpoint) == (
        contract.REGISTRY_URL.default,
        contract.SERVING_URL.default,
        contract.S3_ENDPOINT.default,
    )
    assert demo.serving_grpc_port == int(contract.SERVING_GRPC_PORT.default)
    assert demo.serving_grpc_url == contract.SERVING_GRPC_URL.default
    assert PipelineParams().registry_url == contract.REGISTRY_URL.default


def test_constants_outside_the_tables_are_the_contract() -> None:
    assert (
        contract.S3_ENDPOINT.default,
        contract.S3_BUCKET.default,
    ) == (storage.DEFAULT_ENDPOINT, storage.DEFAULT_BUCKET)
    assert (
        contract.S3_ACCESS_KEY.default,
        contract.S3_SECRET_KEY.default,
        contract.S3_REGION.default,
    ) == (seaweed.DEMO_ACCESS_KEY, seaweed.DEMO_SECRET_KEY, seaweed.DEMO_REGION)
    assert (
        pipelines.settings.DEMO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"]
        == contract.S3_SECRET_KEY.default
    )
    assert contract.REGISTRY_URL.default == publish.DEFAULT_REGISTRY_URL
    assert contract.OCI_REGISTRY.default == modelcar.DEFAULT_OCI_REGISTRY
