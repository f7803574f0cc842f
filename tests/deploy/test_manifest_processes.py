"""The default manifests' containers started as local processes: the closest run to a cluster here.

Each container's command, args and environment (Secrets and ConfigMap included) come from the
rendered manifests; only the network is moved to loopback (see pod_replay). The registry's
database is SQLite in a temporary directory; the data connection names a loopback port where no
S3 runs, since these tests load no model (starting and probing needs no S3).
"""

from __future__ import annotations

import copy
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from k8s_rules import K8S_DIR, KubeObject, all_containers, module_run_by
from pod_replay import Loopback, Secrets, container_env, pod_process, probe_url

from stack.proc import ServiceProcess, free_port, http_ok
from stack.seaweed import S3Settings

pytestmark = pytest.mark.server

START_ORDER = ("registry_local", "serving", "serving.controller", "streamlit")


class RunningPods:
    """The started processes with the plan that moved them to loopback."""

    def __init__(self, objects: list[KubeObject], loopback: Loopback, token: str) -> None:
        self.objects = objects
        self.loopback = loopback
        self.serving_token = token
        self.processes: dict[str, ServiceProcess] = {}

    def container(self, module: str) -> KubeObject:
        return next(c for _, c, _ in all_containers(self.objects) if module_run_by(c) == module)

    def url_of(self, service_url: str) -> str:
        return self.loopback.service_urls[service_url]

    def config(self, key: str) -> str:
        config_map = next(o for o in self.objects if o["kind"] == "ConfigMap")
        return str(config_map["data"][key])


def pod_secrets(tmp_path: Path, s3: S3Settings, token: str) -> Secrets:
    """What the user creates per docs/kubernetes.md, with values for this machine."""
    return {
        "model-registry-db": {"database-url": f"sqlite:///{tmp_path / 'registry.db'}"},
        "aws-connection-models": s3.as_env(),
        "mnist-serving-auth": {"token": token},
    }


@pytest.fixture(scope="module")
def pods(
    tmp_path_factory: pytest.TempPathFactory,
    renders: dict[Path, list[KubeObject]],
) -> Iterator[RunningPods]:
    """The default manifests' four containers, started once for this module."""
    home = tmp_path_factory.mktemp("pods")
    objects = copy.deepcopy(renders[K8S_DIR])
    loopback = Loopback.plan(objects)
    running = RunningPods(objects, loopback, secrets.token_hex(16))
    no_s3 = S3Settings(endpoint=f"http://127.0.0.1:{free_port()}")
    values = pod_secrets(home, no_s3, running.serving_token)
    try:
        for module in START_ORDER:
            container = running.container(module)
            env = container_env(container, objects, values, loopback)
            process = pod_process(module, container, env, loopback, home)
            running.processes[module] = process
            process.start().wait_healthy(timeout=90)
        yield running
    finally:
        for process in reversed(running.processes.values()):
            process.stop()


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return dict(json.load(response))


def load_status(url: str, token: str | None) -> int:
    request = urllib.request.Request(url, data=b"{}", method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for_environment(registry_url: str, name: str, controller: ServiceProcess) -> dict:
    """The ServingEnvironment the controller creates on its first pass."""
    url = f"{registry_url}/api/model_registry/v1alpha3/serving_environment?name={name}"
    deadline = time.monotonic() + 60
    while not http_ok(url):
        assert controller.alive(), f"the controller exited; see {controller.log_path}"
        assert time.monotonic() < deadline, (
            f"no ServingEnvironment {name!r}; see {controller.log_path}"
        )
        time.sleep(0.2)
    return get_json(url)


def test_start_default_pods_answer_every_probe(pods: RunningPods) -> None:
    for module in START_ORDER:
        container = pods.container(module)
        for probe in ("readinessProbe", "livenessProbe"):
            url = probe_url(container, probe, pods.loopback)
            assert url is None or http_ok(url), (module, probe, url)
        assert pods.processes[module].alive(), module


def test_start_default_controller_creates_its_serving_environment(pods: RunningPods) -> None:
    registry_url = pods.url_of(pods.config("MODEL_REGISTRY_URL"))
    name = pods.config("SERVING_ENVIRONMENT")
    environment = wait_for_environment(registry_url, name, pods.processes["serving.controller"])
    assert environment["name"] == name


def test_load_model_without_the_secret_token_is_refused(pods: RunningPods) -> None:
    serving_url = pods.url_of(pods.config("SERVING_URL"))
    load_url = f"{serving_url}/v2/repository/models/mnist-e2e/load"
    assert load_status(load_url, None) == 401
    assert load_status(load_url, "not-the-token") == 401
    assert load_status(load_url, pods.serving_token) != 401
