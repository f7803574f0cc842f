"""Writers that keep a registry busy until it dies, and what they were told before it did.

Each writer thread cycles through: create a model (with customProperties), create a version
under the shared model, create an artifact under the shared version, PATCH the shared model's
description. It records every write it sent: the answer, or `None` when the connection broke
before one came (the server was killed with the write in flight). It stops at the first
broken connection.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from scale_workload import Ledger, Shared, decode, model_artifact

IN_FLIGHT = "in flight"  # sent, the connection broke before the answer
REFUSED = "refused"  # the server was already gone: never sent


@dataclass(frozen=True)
class Write:
    """One write sent: where, what, and the status (None: no answer before the kill)."""

    resource: str
    method: str
    body: dict[str, Any]
    status: int | None
    answer: dict[str, Any] = field(default_factory=dict)
    failure: str = ""  # IN_FLIGHT or REFUSED when there was no answer

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class CrashLedger(Ledger[Write]):
    def acknowledged(self) -> list[Write]:
        return self.matching(lambda write: write.acknowledged)

    def created(self) -> list[Write]:
        return [write for write in self.acknowledged() if write.method == "POST"]

    def patches(self, *, acknowledged: bool) -> list[Write]:
        patches = self.matching(lambda write: write.method == "PATCH")
        return [write for write in patches if write.acknowledged == acknowledged]

    def in_flight(self) -> list[Write]:
        """Writes the server may have received but never answered (not refused connections)."""
        return self.matching(lambda write: write.failure == IN_FLIGHT)


def custom_properties(round_: int, writer: int) -> dict[str, Any]:
    return {
        "round": {"metadataType": "MetadataIntValue", "int_value": str(round_)},
        "writer": {"metadataType": "MetadataStringValue", "string_value": f"w{writer}"},
    }


def next_write(shared: Shared, round_: int, writer: int, step: int) -> tuple[str, str, str, Any]:
    """(resource read back from, method, path, body) of a writer's step."""
    tag = f"{round_}-{writer}-{step}"
    if step % 4 == 0:
        body = {"name": f"crash-{tag}", "customProperties": custom_properties(round_, writer)}
        return "registered_models", "POST", "registered_models", body
    if step % 4 == 1:
        body = {"name": f"crash-{tag}", "registeredModelId": shared.model_id}
        return "model_versions", "POST", "model_versions", body
    if step % 4 == 2:
        path = f"model_versions/{shared.version_id}/artifacts"
        return "model_artifacts", "POST", path, model_artifact(f"crash-{tag}")
    path = f"registered_models/{shared.model_id}"
    return "registered_models", "PATCH", path, {"description": f"patch {tag}"}


def write_until_refused(
    client: httpx.Client, shared: Shared, round_: int, writer: int, ledger: CrashLedger
) -> None:
    for step in itertools.count():
        resource, method, path, body = next_write(shared, round_, writer, step)
        try:
            response = client.request(method, path, json=body)
        except httpx.TransportError as exc:
            failure = REFUSED if isinstance(exc, httpx.ConnectError) else IN_FLIGHT
            ledger.add(Write(resource, method, body, None, failure=failure))
            return
        ledger.add(Write(resource, method, body, response.status_code, decode(response)))


def write_then_kill(
    clients: Sequence[httpx.Client],
    shared: Shared,
    round_: int,
    kill_after: int,
    kill: Callable[[], None],
) -> CrashLedger:
    """Writers on every client; `kill()` once `kill_after` writes were acknowledged."""
    ledger = CrashLedger()
    threads = [
        threading.Thread(target=write_until_refused, args=(c, shared, round_, i, ledger))
        for i, c in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(ledger.acknowledged()) < kill_after and time.monotonic() < deadline:
        time.sleep(0.002)
    kill()
    for thread in threads:
        thread.join(timeout=60)
    assert len(ledger.acknowledged()) >= kill_after, "the writers did not get that far"
    return ledger


# --- checks after the restart -----------------------------------------------------------------


def check_no_server_errors(ledger: CrashLedger) -> None:
    """Every answer before the kill was a success: 201 for creates, 200 for PATCHes."""
    answered = [write for write in ledger.entries if write.status is not None]
    assert [w for w in answered if w.status != (201 if w.method == "POST" else 200)] == []


def check_created_readable(client: httpx.Client, created: Sequence[Write]) -> None:
    """Every acknowledged create reads back exactly as it was acknowledged; ids unique."""
    ids = [(write.resource == "model_artifacts", write.answer["id"]) for write in created]
    assert len(set(ids)) == len(ids)
    for write in created:
        read = client.get(f"{write.resource}/{write.answer['id']}")
        assert read.status_code == 200, read.text
        assert read.json() == write.answer


def check_last_patch_kept(client: httpx.Client, shared: Shared, ledger: CrashLedger) -> None:
    """The shared model shows the latest acknowledged PATCH, or one still in flight."""
    model = client.get(f"registered_models/{shared.model_id}").json()
    acknowledged = ledger.patches(acknowledged=True)
    in_flight = [write.body["description"] for write in ledger.patches(acknowledged=False)]
    latest = max(acknowledged, key=lambda write: int(write.answer["lastUpdateTimeSinceEpoch"]))
    if model["description"] not in in_flight:
        assert model == latest.answer
    assert int(model["lastUpdateTimeSinceEpoch"]) >= int(latest.answer["lastUpdateTimeSinceEpoch"])


def check_properties_whole(client: httpx.Client, round_: int) -> None:
    """Each model of the round (acknowledged or not) carries both custom properties, and the
    typed property rows that filterQuery reads agree with the stored document."""
    models = listed(client, "registered_models")
    of_round = {m["id"] for m in models if m["name"].startswith(f"crash-{round_}-")}
    for model in models:
        if model["id"] in of_round:
            assert set(model["customProperties"]) == {"round", "writer"}
    found = listed(client, "registered_models", filterQuery=f"round = {round_}")
    assert {model["id"] for model in found} == of_round


def listed(client: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def committed_in_flight(client: httpx.Client, ledger: CrashLedger) -> int:
    """How many creates that were in flight at the kill were committed all the same."""
    names = {item["name"] for item in listed(client, "registered_models")}
    names |= {item["name"] for item in listed(client, "model_versions")}
    names |= {item["name"] for item in listed(client, "model_artifacts")}
    creates = [write for write in ledger.in_flight() if write.method == "POST"]
    return sum(write.body["name"] in names for write in creates)
