"""Concurrent writers against real registry servers, and the checks run on what they did.

Each worker thread talks to one server through its own httpx client. It creates registered
models, versions under one shared model and artifacts under one shared version, PATCHes the
shared model, version and artifact (reading each back after the PATCH is acknowledged), and
then joins name races: all workers POST the same name at once after a barrier.
Every response is kept in a ledger (Outcomes); the checks below read it back through every server.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

PREFIX = "/api/model_registry/v1alpha3"
PATCHED = {"model": "registered_models", "version": "model_versions", "artifact": "model_artifacts"}


def api_client(server_url: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server_url}{PREFIX}/", timeout=60)


@dataclass(frozen=True)
class Outcome:
    """One write: what was asked, of which collection, and what the server answered."""

    operation: str
    resource: str
    status: int
    body: dict[str, Any]
    key: str = ""


@dataclass(frozen=True)
class Shared:
    """The objects every worker writes under or PATCHes."""

    model_id: str
    version_id: str
    artifact_id: str
    model_name: str

    def id_of(self, target: str) -> str:
        return {"model": self.model_id, "version": self.version_id}.get(target, self.artifact_id)


Entry = TypeVar("Entry")


@dataclass
class Ledger(Generic[Entry]):
    """What the worker threads recorded, appended and read under one lock."""

    entries: list[Entry] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, entry: Entry) -> None:
        with self.lock:
            self.entries.append(entry)

    def matching(self, keep: Callable[[Entry], bool]) -> list[Entry]:
        with self.lock:
            return [entry for entry in self.entries if keep(entry)]


class Outcomes(Ledger[Outcome]):
    def statuses(self) -> Counter[int]:
        return Counter(outcome.status for outcome in self.matching(lambda _: True))

    def created(self) -> list[Outcome]:
        return self.matching(lambda outcome: outcome.status == 201)


@dataclass
class Worker:
    index: int
    client: httpx.Client
    shared: Shared
    ledger: Outcomes
    barrier: threading.Barrier
    patch_reads: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def send(self, operation: str, resource: str, method: str, path: str, body: Any) -> None:
        """Send one write and record it; `resource` is the collection it is read back from."""
        response = self.client.request(method, path, json=body)
        self.ledger.add(Outcome(operation, resource, response.status_code, decode(response)))


def decode(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"raw": response.text}
    return body if isinstance(body, dict) else {"raw": body}


def create_shared(client: httpx.Client, tag: str) -> Shared:
    model = created(client, "registered_models", {"name": f"shared-{tag}"})
    version = created(client, "model_versions", shared_version(model["id"]))
    artifact = created(client, f"model_versions/{version['id']}/artifacts", model_artifact("a"))
    return Shared(model["id"], version["id"], artifact["id"], model["name"])


def shared_version(model_id: str) -> dict[str, Any]:
    return {"name": "shared-version", "registeredModelId": model_id}


SHARED_NAMES = {"model_versions": "shared-version", "model_artifacts": "a"}


def model_artifact(name: str) -> dict[str, Any]:
    uri = f"s3://models/scale/{name}/model.onnx"
    return {"artifactType": "model-artifact", "name": name, "uri": uri, "modelFormatName": "onnx"}


def created(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=body)
    assert response.status_code == 201, response.text
    return decode(response)


# --- the operations a worker cycles through -------------------------------------------------


def create_model(worker: Worker, step: int) -> None:
    body = {"name": f"model-{worker.index}-{step}", "owner": f"worker-{worker.index}"}
    worker.send("create-model", "registered_models", "POST", "registered_models", body)


def create_version(worker: Worker, step: int) -> None:
    body = {"name": f"version-{worker.index}-{step}", "registeredModelId": worker.shared.model_id}
    worker.send("create-version", "model_versions", "POST", "model_versions", body)


def create_artifact(worker: Worker, step: int) -> None:
    path = f"model_versions/{worker.shared.version_id}/artifacts"
    body = model_artifact(f"artifact-{worker.index}-{step}")
    worker.send("create-artifact", "model_artifacts", "POST", path, body)


def patch_shared(target: str) -> Callable[[Worker, int], None]:
    def patch(worker: Worker, step: int) -> None:
        path = f"{PATCHED[target]}/{worker.shared.id_of(target)}"
        body = {"description": f"{target} by worker {worker.index} step {step}"}
        worker.send(f"patch-{target}", PATCHED[target], "PATCH", path, body)
        read = worker.client.get(path)
        assert read.status_code == 200, read.text
        worker.patch_reads[target].append(int(read.json()["lastUpdateTimeSinceEpoch"]))

    return patch


OPERATIONS: Sequence[Callable[[Worker, int], None]] = (
    create_model,
    create_version,
    create_artifact,
    patch_shared("model"),
    patch_shared("version"),
    patch_shared("artifact"),
)


def race(worker: Worker, round_: int) -> None:
    """After the barrier every worker POSTs the same model name, then the same version name."""
    worker.barrier.wait(timeout=120)
    model = worker.client.post("registered_models", json={"name": f"race-{round_}"})
    worker.ledger.add(Outcome("race-model", "registered_models", model.status_code,
                              decode(model), f"model-{round_}"))  # fmt: skip
    body = {"name": f"race-{round_}", "registeredModelId": worker.shared.model_id}
    version = worker.client.post("model_versions", json=body)
    worker.ledger.add(Outcome("race-version", "model_versions", version.status_code,
                              decode(version), f"version-{round_}"))  # fmt: skip


@dataclass(frozen=True)
class Run:
    """What a workload did: its ledger, its workers and how long it took."""

    ledger: Outcomes
    workers: list[Worker]
    seconds: float

    def summary(self) -> str:
        statuses = dict(sorted(self.ledger.statuses().items()))
        return f"{len(self.ledger.entries)} writes in {self.seconds:.1f} s, statuses {statuses}"


def run_workload(clients: Sequence[httpx.Client], shared: Shared, steps: int, races: int) -> Run:
    """One worker per client, all at once: `steps` cycled operations, then `races` races."""
    ledger = Outcomes()
    barrier = threading.Barrier(len(clients))
    workers = [Worker(i, c, shared, ledger, barrier) for i, c in enumerate(clients)]

    def work(worker: Worker) -> None:
        try:
            for step in range(steps):
                OPERATIONS[step % len(OPERATIONS)](worker, step)
            for round_ in range(races):
                race(worker, round_)
        except BaseException:
            barrier.abort()  # the others stop waiting at the next race instead of timing out
            raise

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        futures = [pool.submit(work, worker) for worker in workers]
    errors = [error for future in futures if (error := future.exception())]
    first_cause = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if errors:
        raise (first_cause or errors)[0]
    return Run(ledger, workers, time.monotonic() - started)


# --- checks -----------------------------------------------------------------------------------


def check_statuses(ledger: Outcomes) -> None:
    """No 5xx; creates answer 201, PATCHes 200; only races may answer 409."""
    server_errors = [o for o in ledger.entries if o.status >= 500]
    assert server_errors == []
    expected = {"create": {201}, "patch": {200}, "race": {201, 409}}
    wrong = [o for o in ledger.entries if o.status not in expected[o.operation.split("-")[0]]]
    assert wrong == []


def check_races(ledger: Outcomes, contenders: int, rounds: int) -> None:
    """Each raced name: exactly one 201, every other contender 409."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for outcome in ledger.entries:
        if outcome.key:
            by_key[outcome.key].append(outcome.status)
    assert len(by_key) == 2 * rounds
    for key, statuses in by_key.items():
        assert sorted(statuses) == [201] + [409] * (contenders - 1), key


def check_unique_ids(ledger: Outcomes, shared: Shared) -> None:
    """Models and versions share one id sequence, artifacts another: no id handed out twice."""
    contexts = [o.body["id"] for o in ledger.created() if o.resource != "model_artifacts"]
    artifacts = [o.body["id"] for o in ledger.created() if o.resource == "model_artifacts"]
    contexts += [shared.model_id, shared.version_id]
    artifacts.append(shared.artifact_id)
    assert len(set(contexts)) == len(contexts)
    assert len(set(artifacts)) == len(artifacts)


def check_readable_everywhere(clients: Sequence[httpx.Client], ledger: Outcomes) -> None:
    """Every 201 reads back, from every server, exactly as it was acknowledged."""
    for outcome in ledger.created():
        for client in clients:
            read = client.get(f"{outcome.resource}/{outcome.body['id']}")
            assert read.status_code == 200, read.text
            assert read.json() == outcome.body


def check_names(client: httpx.Client, ledger: Outcomes, shared: Shared) -> None:
    """Listed names are unique and are exactly the acknowledged ones (nothing lost or extra)."""
    listings = {
        "registered_models": "registered_models",
        "model_versions": f"registered_models/{shared.model_id}/versions",
        "model_artifacts": f"model_versions/{shared.version_id}/artifacts",
    }
    for resource, path in listings.items():
        names = [item["name"] for item in listed(client, path)]
        acknowledged = [o.body["name"] for o in ledger.created() if o.resource == resource]
        expected = [*acknowledged, SHARED_NAMES.get(resource, shared.model_name)]
        assert sorted(names) == sorted(expected), resource


def listed(client: httpx.Client, path: str) -> list[dict[str, Any]]:
    response = client.get(path)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def check_patches(clients: Sequence[httpx.Client], run: Run, shared: Shared) -> None:
    """Reads after acknowledged PATCHes see strictly later update times; the last write stays."""
    for worker in run.workers:
        for target, times in worker.patch_reads.items():
            assert times == sorted(set(times)), (worker.index, target, times)
    for target, resource in PATCHED.items():
        patches = [o.body for o in run.ledger.entries if o.operation == f"patch-{target}"]
        stamps = [int(body["lastUpdateTimeSinceEpoch"]) for body in patches]
        assert len(set(stamps)) == len(stamps), target
        last = max(patches, key=lambda body: int(body["lastUpdateTimeSinceEpoch"]))
        for client in clients:
            assert client.get(f"{resource}/{shared.id_of(target)}").json() == last


def check_all(clients: Sequence[httpx.Client], run: Run, shared: Shared, rounds: int) -> None:
    check_statuses(run.ledger)
    check_races(run.ledger, len(run.workers), rounds)
    check_unique_ids(run.ledger, shared)
    check_readable_everywhere(clients, run.ledger)
    check_names(clients[0], run.ledger, shared)
    check_patches(clients, run, shared)
