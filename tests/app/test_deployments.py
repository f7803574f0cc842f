"""Deployments as the registry describes them: endpoints, status words, new service names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.deployments import (
    Deployment,
    deployment_status,
    infer_url,
    service_name_for,
    services_deploying,
)
from serving.names import BadModelName


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8008",
        "http://127.0.0.1:8008/",
        "http://127.0.0.1:8008/v2/models/mnist-e2e",
        "http://127.0.0.1:8008/v2/models/mnist-e2e/infer",
    ],
    ids=["server", "server-slash", "model", "infer"],
)
def test_infer_url_accepts_server_model_or_infer_url(endpoint: str) -> None:
    assert infer_url(endpoint, "mnist-e2e") == "http://127.0.0.1:8008/v2/models/mnist-e2e/infer"


@pytest.mark.parametrize("name", ["victim/unload?", "a/../victim", "victim#", "mnist\n"])
def test_infer_url_never_built_from_a_name_the_server_refuses(name: str) -> None:
    with pytest.raises(BadModelName, match="bad model name"):
        infer_url("http://127.0.0.1:8008", name)
    hostile = replace(deployment_of(name, "4", "DEPLOYED"), endpoint="http://127.0.0.1:8008")
    assert hostile.infer_url is None
    good = replace(hostile, service_name="mnist-v2")
    assert good.infer_url == "http://127.0.0.1:8008/v2/models/mnist-v2/infer"


@pytest.mark.parametrize(
    ("desired", "observed", "endpoint", "status"),
    [
        ("DEPLOYED", "RUNNING", "http://e", "serving"),
        ("DEPLOYED", None, None, "deploying"),
        ("DEPLOYED", "NEW", "http://e", "deploying"),
        ("DEPLOYED", "RUNNING", None, "deploying"),
        ("DEPLOYED", "COMPLETE", "http://e", "deploying"),
        ("DEPLOYED", "FAILED", None, "failed"),
        ("UNDEPLOYED", "RUNNING", "http://e", "undeploying"),
        ("UNDEPLOYED", "COMPLETE", "http://e", "undeployed"),
        ("UNDEPLOYED", "FAILED", None, "undeployed"),
        ("UNDEPLOYED", None, None, "undeployed"),
    ],
)
def test_deployment_status_compares_desired_and_observed(
    desired: str, observed: str | None, endpoint: str | None, status: str
) -> None:
    assert deployment_status(desired, observed, endpoint) == status


@pytest.mark.parametrize(
    ("observed", "status"), [("RUNNING", "deploying"), ("FAILED", "deploying")]
)
def test_deployment_status_waits_for_new_version(observed: str, status: str) -> None:
    """After switching versions, the newest ServeModel still describes the old one."""
    assert deployment_status("DEPLOYED", observed, "http://e", same_version=False) == status


@pytest.mark.parametrize(
    ("model", "version", "name"),
    [
        ("MNIST", "v2", "mnist-v2"),
        ("My Model", "2024.01 (rc)", "my-model-2024-01-rc"),
        ("x" * 70, "v1", "x" * 63),
        ("", "", "model"),
    ],  # fmt: skip
)
def test_service_name_for_makes_dns_label(model: str, version: str, name: str) -> None:
    assert service_name_for(model, version) == name


def deployment_of(name: str, version_id: str, desired: str) -> Deployment:
    return Deployment(service_id="9", service_name=name, model_id="2", model_name="MNIST",
                      version_id=version_id, version_name="v", runtime="mmserver1",
                      desired_state=desired, observed_state=None, observed_version_id=None,
                      observed_reason="", endpoint=None)  # fmt: skip


def test_services_deploying_names_only_deployed_services_of_the_version() -> None:
    deployments = [
        deployment_of("mnist-e2e", "4", "DEPLOYED"),
        deployment_of("mnist-v2", "4", "UNDEPLOYED"),
        deployment_of("mnist-v1", "3", "DEPLOYED"),
    ]
    assert services_deploying(deployments, "4") == ["mnist-e2e"]
    assert services_deploying(deployments, "5") == []
