"""The real parts the app talks to, started on free loopback ports for the end-to-end tests.

registry_local, the inference server and its controller run as their own CLIs (the app only
meets them on the wire); the models are trained and published by train_and_publish.py in a
subprocess; the app runs under `streamlit run`; Debian's Chromium is driven by Playwright.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from stack.proc import ServiceProcess, free_port, http_ok

REPO = Path(__file__).resolve().parents[2]
API = "/api/model_registry/v1alpha3"
SEED_API = "/api/model_registry/v1alpha1"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]  # fmt: skip

Stroke = list[tuple[float, float]]


def _ellipse(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> Stroke:
    """Points along an ellipse arc from `start` to `end` (turns, clockwise from the top)."""
    steps = 24
    turns = [start + (end - start) * i / steps for i in range(steps + 1)]
    angles = [2 * math.pi * t for t in turns]
    return [(cx + rx * math.sin(a), cy - ry * math.cos(a)) for a in angles]


DIGIT_STROKES: dict[int, list[Stroke]] = {
    0: [_ellipse(140, 140, 60, 95, 0, 1)],
    1: [[(150, 40), (130, 245)]],
    3: [_ellipse(135, 90, 55, 48, -0.2, 0.45), _ellipse(135, 185, 60, 52, 0.05, 0.75)],
    4: [[(160, 40), (70, 170), (220, 170)], [(175, 80), (175, 245)]],
    7: [[(70, 60), (210, 60), (120, 235)]],
}
"""Mouse strokes (canvas pixels) that draw digits the way a person does."""


def python_service(
    name: str,
    args: Sequence[str],
    root: Path,
    health_url: str,
    env: Mapping[str, str],
    cwd: Path = REPO,
    python: str = sys.executable,
) -> ServiceProcess:
    """`python <args>` from `cwd` (the repository root), its log in `root`, healthy when
    `health_url` is."""
    return ServiceProcess(
        name=name,
        command=[python, *args],
        log_path=root / f"{name}.log",
        health=lambda: http_ok(health_url),
        env=dict(env),
        cwd=cwd,
    )


def registry_process(root: Path) -> tuple[ServiceProcess, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "registry_local", "--host", "127.0.0.1", "--port", str(port),
            "--database-url", f"sqlite:///{root / 'registry.db'}"]  # fmt: skip
    return python_service("registry", args, root, f"{url}/readyz/health", {}), url


def serving_process(root: Path, s3_env: Mapping[str, str]) -> tuple[ServiceProcess, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "serving", "--host", "127.0.0.1", "--port", str(port), "--grpc-port", "0"]
    return python_service("serving", args, root, f"{url}/v2/health/live", s3_env), url


def controller_process(
    root: Path, registry_url: str, serving_url: str, s3_env: Mapping[str, str]
) -> ServiceProcess:
    """The controller; healthy once it has created the `local` serving environment."""
    args = ["-m", "serving.controller", "--registry-url", registry_url,
            "--serving-url", serving_url, "--environment", "local", "--runtime", "mmserver1",
            "--interval", "0.5"]  # fmt: skip
    health = f"{registry_url}{API}/serving_environment?name=local"
    return python_service("controller", args, root, health, s3_env)


@contextmanager
def running_app(
    root: Path,
    registry_url: str,
    name: str = "app",
    source: Path = REPO,
    python: str = sys.executable,
) -> Iterator[str]:
    """`streamlit run app/streamlit_app.py` on a free port, reading the given registry, while
    the block runs; yields its URL.

    `source` is the folder holding the `app` package: this checkout, or (for a benchmark's
    before/after) an older revision's copy, which then shadows the installed one; `python`
    the interpreter whose packages it runs with.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-m", "streamlit", "run", str(source / "app" / "streamlit_app.py"),
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false"]  # fmt: skip
    env = {"MODEL_REGISTRY_URL": registry_url, "SERVING_ENVIRONMENT": "local",
           "PYTHONPATH": str(source)}  # fmt: skip
    health = f"{url}/_stcore/health"
    process = python_service(name, args, root, health, env, cwd=source, python=python)
    with process.start():
        process.wait_healthy(timeout=60)
        yield url


@dataclass(frozen=True)
class RunningStack:
    """registry_local, the inference server and the controller, on loopback."""

    registry_url: str
    serving_url: str
    root: Path
    registry: ServiceProcess
    serving: ServiceProcess
    """The processes, for a test that stops and restarts one (same port, same database)."""


@contextmanager
def running_stack(root: Path, s3_env: Mapping[str, str]) -> Iterator[RunningStack]:
    """registry_local, the inference server and the controller (which creates `local`)."""
    registry, registry_url = registry_process(root)
    serving, serving_url = serving_process(root, s3_env)
    with registry.start(), serving.start():
        registry.wait_healthy(timeout=60)
        serving.wait_healthy(timeout=60)
        controller = controller_process(root, registry_url, serving_url, s3_env)
        with controller.start():
            controller.wait_healthy(timeout=60)
            yield RunningStack(registry_url, serving_url, root, registry, serving)


@dataclass(frozen=True)
class PublishedModel:
    """One model trained, exported and registered by train_and_publish.py."""

    kind: str
    version: str
    onnx: Path
    test_accuracy: float


def train_and_publish(export_dir: Path, env: Mapping[str, str]) -> dict[str, PublishedModel]:
    """Train dense (v1) and CNN (v2), publish them to the registry and S3 in `env`."""
    command = [sys.executable, str(Path(__file__).with_name("train_and_publish.py")),
               str(export_dir), "--publish"]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, env=dict(env), capture_output=True, text=True,
                            timeout=1200, check=False)  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"train_and_publish.py failed:\n{result.stderr[-3000:]}")
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {
        r["kind"]: PublishedModel(r["kind"], r["version"], Path(r["onnx"]), r["test_accuracy"])
        for r in records
    }


def set_state_like_the_seed(registry_url: str, version_name: str, service_name: str,
                            state: str) -> None:  # fmt: skip
    """The seed's curl: POST a new InferenceService for MNIST `version_name` in `local`,
    or PATCH the existing one called `service_name`, to `state`."""
    with httpx.Client(base_url=registry_url, timeout=10) as registry:
        model = registry.get(f"{API}/registered_model", params={"name": "MNIST"}).json()
        versions = registry.get(f"{API}/registered_models/{model['id']}/versions").json()
        version_id = next(v["id"] for v in versions["items"] if v["name"] == version_name)
        found = registry.get(f"{API}/inference_service", params={"name": service_name})
        if found.status_code == 200:
            body = {"modelVersionId": version_id, "runtime": "mmserver1", "state": state}
            answer = registry.patch(f"{SEED_API}/inference_services/{found.json()['id']}",
                                    json=body)  # fmt: skip
        else:
            environment = registry.get(f"{API}/serving_environment", params={"name": "local"})
            environment_id = environment.json()["id"]
            body = {"name": service_name, "modelVersionId": version_id, "runtime": "mmserver1",
                    "registeredModelId": model["id"], "servingEnvironmentId": environment_id,
                    "state": state}  # fmt: skip
            path = f"{SEED_API}/serving_environments/{environment_id}/inference_services"
            answer = registry.post(path, json=body)
        answer.raise_for_status()


def wait_until_ready(serving_url: str, service_name: str, ready: bool = True,
                     timeout: float = 120) -> None:  # fmt: skip
    """Wait for the controller to load (or unload) the model in the inference server."""
    deadline = time.monotonic() + timeout
    url = f"{serving_url}/v2/models/{service_name}/ready"
    while http_ok(url) != ready:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{service_name} ready={not ready} after {timeout:.0f} s")
        time.sleep(0.2)
