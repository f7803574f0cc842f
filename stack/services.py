"""The demo's services: how each one is started and how its health is probed."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stack.lab import lab_health_url, lab_process
from stack.oci_registry import oci_registry_process
from stack.proc import ServiceProcess, http_ok
from stack.seaweed import seaweed_process
from stack.settings import StackSettings, port_of

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class ServiceSpec:
    """What `make up` starts: a name, its port, how to build its process and the env var
    that moves its port."""

    name: str
    port: int
    health_url: str
    build: Callable[[StackSettings], ServiceProcess]
    setting: str = ""
    grpc_port: int = 0  # the inference server's second listener (0 for the others)


def _python_service(
    settings: StackSettings, name: str, args: list[str], health_url: str
) -> ServiceProcess:
    return ServiceProcess(
        name=name,
        command=[sys.executable, *args],
        log_path=settings.logs_dir / f"{name}.log",
        health=lambda: http_ok(health_url),
        env=settings.service_env(),
        cwd=REPO,
    )


def _s3(settings: StackSettings) -> ServiceProcess:
    process = seaweed_process(
        settings.state_dir / "s3",
        settings.logs_dir / "s3.log",
        s3_port=port_of(settings.s3_endpoint),
    )
    process.env = settings.service_env()
    return process


def _oci(settings: StackSettings) -> ServiceProcess:
    return oci_registry_process(
        settings.state_dir / "oci", settings.logs_dir / "oci.log", port=settings.oci_port
    )


def _registry(settings: StackSettings) -> ServiceProcess:
    port = port_of(settings.registry_url)
    database = (settings.state_dir / "registry.db").resolve()
    args = ["-m", "registry_local", "--host", "127.0.0.1", "--port", str(port),
            "--database-url", f"sqlite:///{database}"]  # fmt: skip
    return _python_service(settings, "registry", args, _registry_health(settings))


def _serving(settings: StackSettings) -> ServiceProcess:
    port = port_of(settings.serving_url)
    args = ["-m", "serving", "--host", "127.0.0.1", "--port", str(port),
            "--grpc-port", str(settings.serving_grpc_port)]  # fmt: skip
    return _python_service(settings, "serving", args, f"{settings.serving_url}/v2/health/live")


def _controller(settings: StackSettings) -> ServiceProcess:
    args = ["-m", "serving.controller", "--registry-url", settings.registry_url,
            "--serving-url", settings.serving_url, "--environment", settings.environment,
            "--runtime", settings.runtime, "--interval", "1"]  # fmt: skip
    return _python_service(settings, "controller", args, _registry_health(settings))


def _app(settings: StackSettings) -> ServiceProcess:
    args = ["-m", "streamlit", "run", str(REPO / "app" / "streamlit_app.py"),
            "--server.address", "127.0.0.1", "--server.port", str(settings.app_port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    return _python_service(settings, "app", args, f"{settings.app_url}/_stcore/health")


def _registry_health(settings: StackSettings) -> str:
    return f"{settings.registry_url}/readyz/health"


def service_specs(settings: StackSettings, with_lab: bool = True) -> list[ServiceSpec]:
    """The services in start order (S3 and registry before their clients)."""
    specs = [
        ServiceSpec("s3", port_of(settings.s3_endpoint), f"{settings.s3_endpoint}/healthz", _s3,
                    "AWS_S3_ENDPOINT"),
        ServiceSpec("oci", settings.oci_port, f"{settings.oci_url}/v2/", _oci, "OCI_REGISTRY"),
        ServiceSpec("registry", port_of(settings.registry_url), _registry_health(settings),
                    _registry, "MODEL_REGISTRY_URL"),
        ServiceSpec("serving", port_of(settings.serving_url),
                    f"{settings.serving_url}/v2/health/live", _serving, "SERVING_URL",
                    settings.serving_grpc_port),
        ServiceSpec("controller", 0, _registry_health(settings), _controller),
        ServiceSpec("app", settings.app_port, f"{settings.app_url}/_stcore/health", _app,
                    "APP_PORT"),
    ]  # fmt: skip
    if with_lab:
        specs.append(ServiceSpec("lab", settings.lab_port, lab_health_url(settings), lab_process,
                                 "LAB_PORT"))  # fmt: skip
    return specs
