"""Property-based conformance: schemathesis drives every operation of every prefix's spec.

Each prefix (`v1alpha3`, `v1`, `v1alpha1`) is fuzzed against the `openapi.yaml` it serves
itself, on its own seeded database, with a bearer token configured, under schemathesis'
default checks: no 5xx, every status code documented, every response body and header valid
against the document, each operation answers 401 without the token or with a wrong one, 405
answers carry `Allow`, and (`positive_data_acceptance`, as upstream fuzzes its own server)
every request the document allows is accepted: 2xx, or 404 / 409 for ids and names that do not
exist or are taken. The only schema-valid requests refused with 400 are the ones
docs/conformance.md lists ("Schema-valid requests refused"), each pinned by a row of the
conformance table (`SCHEMA_VALID_REFUSALS`). `negative_data_rejection` is left out on purpose:
upstream accepts `null` for an optional field and an empty query parameter (Go decodes both as
absent), and so does registry_local; the conformance table pins those answers.

Stateless: each operation runs its spec examples, schemathesis' coverage phase (boundary
values, wrong types) and deterministic fuzzed examples.
Stateful: schemathesis chains operations along the spec's links and the ones its dependency
analysis infers (create a model, then get / patch / find it, create a version under it, ...)
for a fixed number of deterministic scenarios.

CI runs a fixed, small budget. For a longer run set `REGISTRY_FUZZ_EXAMPLES` (fuzzed examples
per operation, default 5; stateful scenarios are 10 times that) and optionally
`REGISTRY_FUZZ_SEED` (an integer: other examples than CI's derandomized ones), e.g.

    REGISTRY_FUZZ_EXAMPLES=200 REGISTRY_FUZZ_SEED=7 .venv/bin/python -m pytest \
        tests/registry_local/test_schemathesis.py
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import orjson
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from sqlalchemy import Engine
from starlette.testclient import TestClient

from registry_local.app import create_app
from registry_local.database import make_engine, migrate
from registry_local.openapi import served_document
from registry_local.settings import Settings

from .conformance_cases import SCHEMA_VALID_REFUSALS
from .support import Api, Factory, seed_one_of_each

TOKEN = "fuzz-token"
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = int(os.environ.get("REGISTRY_FUZZ_EXAMPLES", "5"))
SEED_TEXT = os.environ.get("REGISTRY_FUZZ_SEED")
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=SEED_TEXT is None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
STATEFUL_SETTINGS = settings(FUZZ_SETTINGS, max_examples=10 * EXAMPLES, stateful_step_count=10)


def fuzz_seed(test: Any) -> Any:
    """CI: derandomized (the same examples every run); REGISTRY_FUZZ_SEED: that seed's.
    Works on a test function and on a state machine class alike."""
    return test if SEED_TEXT is None else hypothesis.seed(int(SEED_TEXT))(test)


def documented_refusal(response: Any) -> str | None:
    """The SCHEMA_VALID_REFUSALS entry a 400 answer is, if any."""
    if response.status_code != 400:
        return None
    message = orjson.loads(response.content).get("message", "")
    keys = [key for key, refusal in SCHEMA_VALID_REFUSALS.items() if refusal.matches(400, message)]
    return keys[0] if keys else None


def accepts_schema_valid_requests(ctx: Any, response: Any, case: Any) -> bool | None:
    """`positive_data_acceptance`, but a refusal docs/conformance.md lists is no failure."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except RejectedPositiveData:
        if documented_refusal(response) is None:
            raise
        return None


EXCLUDED = [positive_data_acceptance, negative_data_rejection]
ADDED = [accepts_schema_valid_requests]


def seed(path: Path) -> None:
    """A migrated database at `path` holding one entity of each kind at small ids."""
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    with TestClient(create_app(Settings(), engine)) as client:
        api = Api(client)
        run = seed_one_of_each(Factory(api)).id_for("experiment_runs")
        metric = {"artifactType": "metric", "name": "loss", "value": 0.5, "step": 1}
        api.created(f"experiment_runs/{run}/artifacts", metric)
    engine.dispose()


@dataclass
class SeededDatabase:
    """A copy of the seeded database that one app serves; `reset` restores the seed."""

    path: Path
    engine: Engine = field(init=False)

    def __post_init__(self) -> None:
        shutil.copy(SEED, self.path)
        self.engine = make_engine(f"sqlite:///{self.path}")

    def reset(self) -> None:
        self.engine.dispose()
        for leftover in ("-wal", "-shm"):
            self.path.with_name(self.path.name + leftover).unlink(missing_ok=True)
        shutil.copy(SEED, self.path)


# Loaded at collection: schemathesis' pytest integration wants the schema at import time
# (its lazy `from_fixture` loader does not work with pytest 9).
_DATABASE_DIR = tempfile.TemporaryDirectory(prefix="registry-schemathesis-")
DATABASES = Path(_DATABASE_DIR.name)
SEED = DATABASES / "seed.db"
seed(SEED)
AUTH_CONFIG = {"auth": {"openapi": {"Bearer": {"bearer": TOKEN}}}}
UNCHAINED = ("filterQuery", "nextPageToken")


def served_schema(version: str, database: SeededDatabase, mode: str = "all") -> Any:
    """The spec `/api/model_registry/{version}` serves, bound to a token-protected app."""
    app = create_app(Settings(auth_token=TOKEN), database.engine)
    path = f"/api/model_registry/{version}/openapi.yaml"
    generation = {"mode": mode, "allow-x00": mode != "positive"}  # NUL: 400, as documented
    config = SchemathesisConfig.from_dict({**AUTH_CONFIG, "generation": generation})
    return schemathesis.openapi.from_asgi(path, app, config=config, headers=AUTHORIZATION)


def fields_of(document: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    """Every property a body schema names, through `$ref`, `allOf` and `oneOf`."""
    if "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    names = set(schema.get("properties", {}))
    for part in schema.get("allOf", []) + schema.get("oneOf", []):
        names |= fields_of(document, part)
    return names


def scenario_schema(version: str) -> tuple[Any, SeededDatabase]:
    """Valid requests only (an invalid one ends a chain before it reaches the linked calls),
    on a database each scenario resets to the seed, so a replayed scenario gets the same
    answers."""
    database = SeededDatabase(DATABASES / f"stateful-{version}.db")
    schema = served_schema(version, database, mode="positive")
    document = served_document(version)

    @schema.hook
    def map_body(context: Any, body: Any) -> Any:
        """Only the fields the spec names: the server refuses others with 400, as upstream."""
        operation = document["paths"][context.operation.path][context.operation.method]
        body_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        known = fields_of(document, body_schema)
        return {key: value for key, value in body.items() if key in known}

    @schema.hook
    def map_query(context: Any, query: Any) -> Any:
        """Random filters and page tokens only earn 400s (the stateless tests fuzz them)."""
        return {key: value for key, value in (query or {}).items() if key not in UNCHAINED}

    return schema, database


PREFIXES = ("v1alpha3", "v1", "v1alpha1")
SCHEMAS = {
    version: served_schema(version, SeededDatabase(DATABASES / f"{version}.db"))
    for version in PREFIXES
}
SCENARIOS = {version: scenario_schema(version) for version in PREFIXES}


def conformance_test(version: str) -> Callable[[Any], None]:
    @SCHEMAS[version].parametrize()
    @FUZZ_SETTINGS
    @fuzz_seed
    def test(case: Any) -> None:
        case.call_and_validate(excluded_checks=EXCLUDED, additional_checks=ADDED)

    return test


test_v1alpha3_conforms_to_served_openapi = conformance_test("v1alpha3")
test_v1_conforms_to_served_openapi = conformance_test("v1")
test_v1alpha1_conforms_to_served_openapi = conformance_test("v1alpha1")


@pytest.mark.parametrize("version", SCENARIOS)
def test_stateful_sequences_conform(version: str) -> None:
    schema, database = SCENARIOS[version]
    statuses: Counter[tuple[str, int]] = Counter()

    class Scenario(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            database.reset()

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            statuses[case.operation.path.split(version, 1)[1], response.status_code] += 1
            case.validate_response(
                response,
                excluded_checks=EXCLUDED,
                additional_checks=ADDED,
                transport_kwargs=kwargs or None,
            )

    fuzz_seed(Scenario).run(settings=STATEFUL_SETTINGS)
    answered = {label for (label, status) in statuses if status in (200, 201)}
    print(f"{version} stateful: {sum(statuses.values())} calls, {len(answered)} paths 2xx")
    assert sum(statuses.values()) >= STATEFUL_SETTINGS.max_examples
    assert answered >= CHAINED  # scenarios got past creates to the entities they created
    assert len(answered) >= 15


# Reached only with an id a create returned: scenarios really follow the links.
CHAINED = {
    "/registered_models/{registeredmodelId}",
    "/registered_models/{registeredmodelId}/versions",
    "/serving_environments/{servingenvironmentId}/inference_services",
}


def test_only_documented_refusals_pass_the_acceptance_check(tmp_path: Path) -> None:
    """A refusal docs/conformance.md lists passes; any other 400 would fail the fuzzing."""
    database = SeededDatabase(tmp_path / "refusals.db")
    with TestClient(create_app(Settings(), database.engine)) as client:
        api = Api(client)
        listed = api.get("registered_model")  # a find with no parameter, upstream's 400 too
        other = api.post("registered_models", {"name": "m", "licenseLink": "not a uri"})
    assert (listed.status_code, documented_refusal(listed)) == (400, "find-without-parameters")
    assert (other.status_code, documented_refusal(other)) == (400, None)
    database.engine.dispose()
