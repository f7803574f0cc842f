"""docs/conformance.md's table, regenerated from a real registry_local's answers on every prefix.

Each case of `conformance_cases` runs against a fresh server per API prefix (v1alpha3, v1,
v1alpha1): the status must be upstream's (or the documented difference), the body of every
error `{"code", "message"}` with `code` = the status text upstream sends, a refused request
must leave every stored entity as it was, and the three prefixes must answer alike. The
rendered table must equal the one committed in docs/conformance.md; regenerate it with

    UPDATE_CONFORMANCE=1 .venv/bin/python -m pytest tests/registry_local/test_conformance_table.py
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from registry_local.app import create_app
from registry_local.errors import status_text
from registry_local.settings import Settings

from .conformance_cases import CASES, DIFFERENCES, SCHEMA_VALID_REFUSALS, SEED, Case, TokenFrom
from .support import COLLECTIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"
BEGIN = "<!-- BEGIN GENERATED TABLE (tests/registry_local/test_conformance_table.py) -->"
END = "<!-- END GENERATED TABLE -->"
REGENERATE = (
    "UPDATE_CONFORMANCE=1 .venv/bin/python -m pytest tests/registry_local/test_conformance_table.py"
)
PREFIXES = ("v1alpha3", "v1", "v1alpha1")
STATE_LISTS = (*COLLECTIONS, "inference_services/4/serves", "model_versions/3/artifacts",
               "experiment_runs/6/artifacts", "experiment_runs/6/metric_history")  # fmt: skip
SHOWN_MESSAGE = 90


@dataclass(frozen=True)
class Answer:
    """What the server answered one case."""

    status: int
    code: str | None
    message: str | None


def stored_state(client: httpx.Client) -> dict[str, Any]:
    """Every stored entity, as the list endpoints show them."""
    return {path: client.get(path, params={"pageSize": "1000"}).json() for path in STATE_LISTS}


def resolve(params: dict[str, Any], client: httpx.Client) -> dict[str, str]:
    resolved = {}
    for key, value in params.items():
        if isinstance(value, TokenFrom):
            token = client.get(value.path, params={"pageSize": "1"}).json()["nextPageToken"]
            assert token, f"{value}: the list needs two entities to page over"
            value = token
        resolved[key] = value
    return resolved


def send(client: httpx.Client, case: Case) -> httpx.Response:
    method, path = case.request.split(" ", 1)
    params = resolve(case.params, client)
    if isinstance(case.body, bytes):
        headers = {"content-type": "application/json"}
        return client.request(method, path, params=params, content=case.body, headers=headers)
    return client.request(method, path, params=params, json=case.body)


def run_case(client: httpx.Client, case: Case) -> Answer:
    """Send one case; check its status, error shape and that a refusal stored nothing."""
    before = stored_state(client)
    response = send(client, case)
    status = response.status_code
    assert status == case.status, (case, response.text[:300])
    if status < 300:
        return Answer(status, None, None)
    body = response.json()
    assert set(body) == {"code", "message"}, (case, body)
    expected_code = "Bad Request" if status == 422 else status_text(status)  # upstream's quirk
    assert body["code"] == expected_code, (case, body)
    assert status != 405 or response.headers["allow"], case  # RFC 9110: 405 names the methods
    assert case.message is None or body["message"] == case.message, (case, body)
    assert stored_state(client) == before, f"{case} changed stored data"
    return Answer(status, body["code"], body["message"])


def run_all(client: httpx.Client) -> list[Answer]:
    """Seed, then every case, on a client whose base URL is an API prefix of an empty registry."""
    for path, body in SEED:
        assert client.post(path, json=body).status_code == 201, path
    return [run_case(client, case) for case in CASES]


def run_on_server(base_url: str) -> list[Answer]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return run_all(client)


def operation(request: str) -> str:
    """`POST /registered_models/2/versions` -> `POST /registered_models/{id}/versions`."""
    return re.sub(r"/(\d+|abc)(?=/|$)", "/{id}", request)


def cell(text: str) -> str:
    text = text if len(text) <= SHOWN_MESSAGE else text[: SHOWN_MESSAGE - 1] + "…"
    return text.replace("|", "\\|").replace("\n", " ")


def upstream_cell(case: Case) -> str:
    if case.differs is None:
        return "same"
    number = list(DIFFERENCES).index(case.differs) + 1
    return f"{case.upstream} (difference {number})"


def counts(answers: list[Answer]) -> str:
    refused = sum(answer.status >= 400 for answer in answers)
    differ = sum(case.differs is not None for case in CASES)
    return (
        f"{len(answers)} requests, {refused} of them refused (each storing nothing): "
        f"{len(answers) - differ} answered with upstream's status and `code`, {differ} "
        "differently on purpose."
    )


def render(answers: list[Answer]) -> str:
    lines = [
        "| operation | input | status | `code` | `message` | upstream |",
        "|---|---|---|---|---|---|",
    ]
    for case, answer in zip(CASES, answers, strict=True):
        code = f"`{answer.code}`" if answer.code else ""
        message = cell(answer.message) if answer.message else ""
        lines.append(
            f"| `{operation(case.request)}` | {cell(case.given)} | {answer.status} | {code} "
            f"| {message} | {upstream_cell(case)} |"
        )
    lines += ["", counts(answers), "", "### Differences kept on purpose", ""]
    lines += [f"{n}. `{key}`: {text}" for n, (key, text) in enumerate(DIFFERENCES.items(), 1)]
    lines += ["", "### Schema-valid requests refused", "", REFUSALS_INTRO, ""]
    lines += [
        f"- `{key}`: {SCHEMA_VALID_REFUSALS[key].reason} Pinned by: {'; '.join(inputs)}."
        for key, inputs in pinned_refusals(answers).items()
    ]
    return "\n".join(lines)


REFUSALS_INTRO = (
    "Requests the OpenAPI document allows that registry_local still answers with 400 "
    "(tests/registry_local/test_schemathesis.py fails on any other), each pinned by the rows of "
    "the table above whose message it matches:"
)


def pinned_refusals(answers: list[Answer]) -> dict[str, list[str]]:
    """For each SCHEMA_VALID_REFUSALS entry, the cases that answer with it (one at least)."""
    pinned: dict[str, list[str]] = {key: [] for key in SCHEMA_VALID_REFUSALS}
    for case, answer in zip(CASES, answers, strict=True):
        for key, refusal in SCHEMA_VALID_REFUSALS.items():
            if refusal.matches(answer.status, answer.message or ""):
                pinned[key].append(f"`{operation(case.request)}` {case.given}")
    unpinned = [key for key, inputs in pinned.items() if not inputs]
    assert not unpinned, f"no conformance case pins the refusals {unpinned}"
    return pinned


def committed_table() -> str:
    text = DOC.read_text()
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip()


def write_table(table: str) -> None:
    text = DOC.read_text()
    head, rest = text.split(BEGIN, 1)
    DOC.write_text(f"{head}{BEGIN}\n{table}\n{END}{rest.split(END, 1)[1]}")


@pytest.mark.server
def test_conformance_table_matches_real_answers(
    make_registry_server: Callable[..., Any],
) -> None:
    answers = {prefix: run_on_server(f"{make_registry_server().url}/api/model_registry/{prefix}")
               for prefix in PREFIXES}  # fmt: skip
    for prefix in PREFIXES[1:]:
        assert answers[prefix] == answers[PREFIXES[0]], f"{prefix} answers differently"
    table = render(answers[PREFIXES[0]])
    if os.environ.get("UPDATE_CONFORMANCE") == "1":
        write_table(table)
    assert table == committed_table(), (
        f"docs/conformance.md's table is out of date with the server; regenerate it: {REGENERATE}"
    )


@pytest.mark.parametrize(
    "backend_engine",
    [
        pytest.param("postgresql", marks=pytest.mark.db),
        pytest.param("mariadb", marks=pytest.mark.db),
    ],
    indirect=True,
)
def test_conformance_cases_answer_alike_on_database_servers(backend_engine: Engine) -> None:
    """The same cases, refusals storing nothing, on PostgreSQL and MariaDB (in-process app)."""
    app = create_app(Settings(), backend_engine)
    base_url = f"http://testserver/api/model_registry/{PREFIXES[0]}"
    with TestClient(app, base_url=base_url, raise_server_exceptions=False) as client:
        table = render(run_all(client))
    assert table == committed_table(), f"{backend_engine.dialect.name} answers differently"
