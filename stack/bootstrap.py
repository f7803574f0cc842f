"""Seed a fresh demo the way the seed's walkthrough does, then say where everything is.

Order matters for the ids (they reproduce the seed's): the controller creates the serving
environment `local` (id 1), notebook 01 registers `MNIST` (2) with v1 (3), notebook 02 adds v2
(4), the pipeline adds v3 (5), and deploying the CNN creates the InferenceService (6). The
three trainings run at once; PUBLISH_AFTER (training.turn) keeps their registrations in that
order.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from mr_client import ModelVersion, RegistryClient
from mr_client.urls import SEED_API
from stack.proc import ServiceError, log_tail, stop_process_group
from stack.seaweed import ensure_bucket
from stack.settings import StackSettings
from training.turn import PUBLISH_AFTER

REPO = Path(__file__).resolve().parent.parent
SERVICE_NAME = "mnist-e2e"
NOTEBOOKS = ("01_train_dense_v1.ipynb", "02_train_cnn_v2.ipynb")


@dataclass(frozen=True)
class DemoIds:
    """The registry ids the printed curl commands use."""

    environment_id: str
    model_id: str
    version_ids: tuple[str, ...]
    cnn_version_id: str
    service_id: str
    first_prediction: str


def seed_demo(settings: StackSettings) -> DemoIds:
    """Make sure the bucket, the versions and the deployed CNN exist; return their ids."""
    started = time.monotonic()
    ensure_bucket(settings.s3())
    with RegistryClient(settings.registry_url, timeout=10) as registry:
        environment_id = wait_for_environment(registry, settings.environment)
        if not model_versions(registry):
            train_and_register(settings)
        versions = model_versions(registry)
        model_id = versions[0].registered_model_id
        cnn = next((v for v in versions if v.name == "v2"), versions[-1])
        service_id = ensure_deployed(registry, settings, environment_id, model_id, cnn.id)
    prediction = first_prediction(settings.serving_url)
    print(f"Time to first prediction: {time.monotonic() - started:.0f} s", flush=True)
    ids = tuple(v.id for v in versions)
    return DemoIds(environment_id, model_id, ids, cnn.id, service_id, prediction)


def wait_for_environment(registry: RegistryClient, name: str, timeout: float = 60) -> str:
    """Wait until the controller has created its ServingEnvironment; return its id."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = registry.find_serving_environment(name)
        if found is not None:
            return found.id
        time.sleep(0.5)
    raise ServiceError(f"the controller did not create serving environment {name!r}; "
                       "see `make logs` (controller.log)")  # fmt: skip


def model_versions(registry: RegistryClient) -> list[ModelVersion]:
    """The versions of `MNIST`, oldest first ([] when the model is not registered yet)."""
    model = registry.find_registered_model("MNIST")
    return registry.model_versions(model.id) if model else []


@dataclass(frozen=True)
class SeedRun:
    """One training of the seed: its command and the version it registers after."""

    name: str
    command: list[str]
    after: str  # PUBLISH_AFTER (training.turn): "" for the first


def seed_runs(settings: StackSettings) -> list[SeedRun]:
    """Notebook 01 (v1), notebook 02 (v2, after v1), the pipeline (v3, after v2)."""
    out_dir = settings.state_dir / "executed-notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    papermill = [sys.executable, "-m", "papermill", "--log-output", "--no-progress-bar"]
    first, second = (
        [*papermill, str(REPO / "notebooks" / name), str(out_dir / name)] for name in NOTEBOOKS
    )
    return [SeedRun("notebook-01", first, ""), SeedRun("notebook-02", second, "v1"),
            SeedRun("pipeline", [sys.executable, "-m", "pipelines.run"], "v2")]  # fmt: skip


def train_and_register(settings: StackSettings) -> None:
    """Notebooks 01 and 02 and the pipeline train at once; PUBLISH_AFTER makes them register
    v1, v2 and v3 in that order, so the ids stay the seed's whatever finishes first."""
    runs = seed_runs(settings)
    print("Training: notebooks 01 and 02 and the pipeline at once, registering v1, v2, v3 in "
          f"that order (logs: {settings.logs_dir}/seed-*.log) ...", flush=True)  # fmt: skip
    started = time.monotonic()
    processes = [_start(run, settings) for run in runs]
    try:
        for run, process in zip(runs, processes, strict=True):
            _finish(run, process, settings)
            print(f"  {run.name:<12} registered after {time.monotonic() - started:.0f} s",
                  flush=True)  # fmt: skip
    finally:
        for process in processes:
            if process.poll() is None:
                stop_process_group(process.pid, kill_after=5.0)


def _seed_log(run: SeedRun, settings: StackSettings) -> Path:
    return settings.logs_dir / f"seed-{run.name}.log"


def _start(run: SeedRun, settings: StackSettings) -> subprocess.Popen[bytes]:
    env = {**os.environ, **settings.service_env(), PUBLISH_AFTER: run.after}
    with _seed_log(run, settings).open("wb") as log:
        return subprocess.Popen(run.command, cwd=REPO, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def _finish(run: SeedRun, process: subprocess.Popen[bytes], settings: StackSettings) -> None:
    code = process.wait()
    if code != 0:
        log = _seed_log(run, settings)
        raise ServiceError(f"{run.name} failed (exit {code}); last lines of {log}:\n"
                           f"{log_tail(log, lines=25)}")  # fmt: skip


def ensure_deployed(
    registry: RegistryClient, settings: StackSettings, environment_id: str, model_id: str,
    version_id: str,
) -> str:  # fmt: skip
    """Deploy `version_id` as `mnist-e2e` (the seed's POST) unless it exists; return its id."""
    found = registry.find_inference_service(SERVICE_NAME)
    if found is not None:
        return found.id
    created = registry.create_inference_service(
        environment_id, SERVICE_NAME, model_id, version_id, settings.runtime
    )
    print(f"Deployed version {version_id} as InferenceService {SERVICE_NAME!r}", flush=True)
    return created.id


def first_prediction(serving_url: str, timeout: float = 60) -> str:
    """Wait for `mnist-e2e` to be ready, then classify a real MNIST test digit."""
    image, label = _first_test_digit()
    url = f"{serving_url}/v2/models/{SERVICE_NAME}"
    deadline = time.monotonic() + timeout
    while httpx.get(f"{url}/ready").status_code != 200:
        if time.monotonic() > deadline:
            raise ServiceError(f"{SERVICE_NAME} not ready after {timeout:.0f} s; see `make logs`")
        time.sleep(0.2)
    body = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP32", "data": image}]}
    output = httpx.post(f"{url}/infer", json=body).json()["outputs"][0]["data"]
    digit = max(range(10), key=lambda i: output[i])
    return f"a real test digit labelled {label} was predicted as {digit} (p={output[digit]:.3f})"


def _first_test_digit() -> tuple[list[float], int]:
    folder = REPO / "data" / "mnist"
    pixels = gzip.decompress((folder / "t10k-images-idx3-ubyte.gz").read_bytes())[16 : 16 + 784]
    label = gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())[8]
    return [p / 255.0 for p in pixels], int(label)


def print_welcome(settings: StackSettings, ids: DemoIds, with_lab: bool, foreground: bool) -> None:
    """Print the URLs and the seed's curl commands with this run's real ids (`make up` and
    `make demo` alike; only how to stop differs)."""
    from stack.lab import lab_url

    template = (Path(__file__).parent / "welcome.txt").read_text()
    print(template.format(
        app_url=settings.app_url, registry_url=settings.registry_url,
        lab=lab_url(settings) if with_lab else "not started (--no-lab); `make lab` starts it",
        serving_url=settings.serving_url, service_name=SERVICE_NAME, seed_api=SEED_API,
        grpc=(f"{settings.serving_grpc_url} (SERVING_GRPC_URL; inference.GRPCInferenceService)"
              if settings.serving_grpc_url else "off (SERVING_GRPC_PORT=0)"),
        first_prediction=ids.first_prediction, cnn_version_id=ids.cnn_version_id,
        service_id=ids.service_id, runtime=settings.runtime, state_dir=settings.state_dir,
        stop="Ctrl-C stops" if foreground else "`make down` stops",
    ), flush=True)  # fmt: skip
