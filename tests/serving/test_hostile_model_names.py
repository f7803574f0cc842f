"""Hostile model names against real processes: the server refuses them with 400, and the
controller records a service so named FAILED without a request, the other models serving on.

Issue 19 item 1: a service named `victim/unload?` made the controller unload `victim`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from stack_calls import AUTH, create_service, index, serve_records, served_version, serves
from test_names import HOSTILE_NAMES

pytestmark = pytest.mark.server

Wait = Callable[..., Any]

# The registry holds them all but a 254-character name (it refuses that itself; the server
# and `serving.names` tests cover it): at the limit, a newline instead.
HOSTILE_SERVICES = {
    **{case: name for case, name in HOSTILE_NAMES.items() if case != "too-long"},
    "newline-at-the-limit": "v" * 252 + "\n",
}
REASON = "the inference server cannot serve this name: bad model name"


def loads(stack: Any) -> dict[str, float]:
    """The server's load counter by outcome (ok / refused / failed)."""
    metrics = httpx.get(f"{stack.serving_url}/metrics").text
    found = re.findall(r'serving_model_loads_total\{outcome="(\w+)"\} ([0-9.]+)', metrics)
    return {outcome: float(count) for outcome, count in found}


def failed_once(stack: Any, service: str) -> list[dict[str, Any]]:
    records = serve_records(stack, service)
    return records if records and records[-1]["lastKnownState"] == "FAILED" else []


def test_controller_fails_hostile_names_and_the_victim_keeps_serving(
    serving_stack: Any, publisher: Any, make_model: Callable[..., bytes], wait_until: Wait
) -> None:
    victim = publisher.publish("MNIST", "v1", make_model(seed=1))
    create_service(serving_stack, "victim", publisher.models["MNIST"], modelVersionId=victim)
    assert wait_until(lambda: served_version(serving_stack, "victim")) == victim
    attacker = publisher.publish("MNIST", "v2", make_model(seed=2))
    hostile = {name: create_service(serving_stack, name, publisher.models["MNIST"],
                                    modelVersionId=attacker)
               for name in HOSTILE_SERVICES.values()}  # fmt: skip
    create_service(serving_stack, "beside", publisher.models["MNIST"], modelVersionId=attacker)
    assert wait_until(lambda: served_version(serving_stack, "beside")) == attacker
    for name, service in hostile.items():
        records = wait_until(lambda s=service: failed_once(serving_stack, s), what=repr(name))
        assert [(r["modelVersionId"], r["lastKnownState"]) for r in records] == [
            (attacker, "FAILED")], name  # fmt: skip
        assert records[0]["description"].startswith(REASON), records
    create_service(serving_stack, "later", publisher.models["MNIST"], modelVersionId=victim)
    assert wait_until(lambda: served_version(serving_stack, "later")) == victim  # passes went on
    assert all(len(serves(serving_stack, s)) == 1 for s in hostile.values())
    assert served_version(serving_stack, "victim") == victim
    assert {name: row["state"] for name, row in index(serving_stack).items()} == {
        "victim": "READY", "beside": "READY", "later": "READY"}  # fmt: skip
    assert loads(serving_stack) == {"ok": 3.0}  # no request ever carried a hostile name


def test_controller_log_names_the_refused_service_once(
    serving_stack: Any, publisher: Any, mnist_model_bytes: bytes, wait_until: Wait
) -> None:
    version = publisher.publish("MNIST", "v1", mnist_model_bytes)
    service = create_service(serving_stack, "victim/unload?", publisher.models["MNIST"])
    create_service(serving_stack, "good", publisher.models["MNIST"])
    assert wait_until(lambda: served_version(serving_stack, "good")) == version
    wait_until(lambda: failed_once(serving_stack, service), what="FAILED record")
    warnings = [line for line in serving_stack.log("controller").splitlines() if REASON in line]
    assert len(warnings) == 1, warnings


BAD_PATH_NAMES = {
    "trailing-newline": "mnist%0A",
    "trailing-carriage-return": "mnist%0D",
    "encoded-dot-dot": "%2E%2E",
    "too-long": "m" * 254,
    "cyrillic-i": "mn%D1%96st",
    "leading-dash": "-mnist",
}


def test_server_refuses_bad_names_with_400_and_keeps_serving(
    serving_server: str, s3_upload: Callable[[str, bytes], str], mnist_model_bytes: bytes
) -> None:
    models = f"{serving_server}/v2/repository/models"
    body = {"parameters": {"uri": s3_upload("mnist/model.onnx", mnist_model_bytes)}}
    loaded = httpx.post(f"{models}/mnist/load", json=body, headers=AUTH, timeout=30)
    assert loaded.status_code == 200, loaded.text
    for name in BAD_PATH_NAMES.values():
        for action in ("load", "unload"):
            refused = httpx.post(f"{models}/{name}/{action}", json=body, headers=AUTH)
            assert refused.status_code == 400, (name, action, refused.text)
            assert list(refused.json()) == ["error"]
            assert refused.json()["error"].startswith("bad model name "), refused.text
    rows = httpx.post(f"{serving_server}/v2/repository/index", headers=AUTH).json()
    assert [row["name"] for row in rows] == ["mnist"]
    assert httpx.get(f"{serving_server}/v2/models/mnist/ready").status_code == 200
