"""Edges of the wire found by probing (issues 19 item 9 and 23): a body cut short, list-valued
filters, 405 answers, `format: uri` fields, metric history `state`, empty optional strings.

Each bad input sits beside the good one it differs from.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from registry_local.openapi import served_document

from .support import PREFIX, Api, Factory

MODELS = f"{PREFIX}/registered_models"


def post_raw(port: int, body: bytes, announced: int) -> None:
    """POST `body` with `Content-Length: announced`, then close without reading an answer.

    The pause lets the server read the bytes sent (its body reader then waits for the rest)
    before the close tells it the client is gone."""
    head = (
        f"POST {MODELS} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        f"Content-Length: {announced}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
        connection.sendall(head + body)
        time.sleep(0.5)


def found(url: str, name: str) -> int:
    return httpx.get(f"{url}{PREFIX}/registered_model", params={"name": name}).status_code


@pytest.mark.server
def test_a_post_cut_short_stores_nothing(make_registry_server: Callable[..., Any]) -> None:
    server = make_registry_server()
    whole = orjson.dumps({"name": "whole"})
    cut = orjson.dumps({"name": "cut"})  # valid JSON: only the Content-Length says it is cut
    post_raw(server.port, whole, len(whole))
    post_raw(server.port, cut, len(cut) + 20)
    assert found(server.url, "whole") == 200
    assert found(server.url, "cut") == 404
    assert httpx.get(f"{server.url}/readyz/health").status_code == 200


def test_every_405_names_the_allowed_methods(api: Api) -> None:
    allowed = {"registered_models/1": "GET, PATCH", "registered_models": "GET, POST"}
    for path, methods in allowed.items():
        for method in ("DELETE", "PUT", "TRACE"):
            response = api.client.request(method, api.url(path))
            assert response.status_code == 405
            assert response.headers["allow"] == methods
    document = api.client.post(api.url("openapi.yaml"))
    assert (document.status_code, document.headers["allow"]) == (405, "GET, HEAD")
    assert api.client.get(api.url("registered_models")).status_code == 200


@pytest.fixture
def listed(backend_api: Api) -> Callable[[str], list[str]]:
    """Names of the models a filterQuery lists, over models with list-valued properties."""
    make = Factory(backend_api)
    make.model("pair", language=["a", "b"], tasks=["image-classification"])
    make.model("quoted", language=['a","b'], tasks=["Image-Segmentation"])
    make.model("bare")

    def names(filter_query: str) -> list[str]:
        response = backend_api.get("registered_models", filterQuery=filter_query, orderBy="ID")
        assert response.status_code == 200, response.text
        return [item["name"] for item in response.json()["items"]]

    return names


@pytest.mark.parametrize(
    ("filter_query", "expected"),
    [
        ("language = 'a'", ["pair"]),
        ("language = 'a\",\"b'", ["quoted"]),  # an element, not a substring of stored JSON
        ("language = 'a\"'", []),
        ("language IN ('b', 'zz')", ["pair"]),
        ("language != 'a'", ["quoted"]),  # lists without the element; no list: no match
        ("tasks LIKE 'image-%'", ["pair"]),
        ("tasks ILIKE 'image-%'", ["pair", "quoted"]),
        ("tasks LIKE '%\"%'", []),
    ],
)
def test_list_filters_match_whole_elements(
    listed: Callable[[str], list[str]], filter_query: str, expected: list[str]
) -> None:
    assert listed(filter_query) == expected


@pytest.mark.parametrize("filter_query", ["language < 'a'", "tasks >= 'x'"])
def test_list_filters_refuse_ordering(api: Api, filter_query: str) -> None:
    response = api.get("registered_models", filterQuery=filter_query)
    assert response.status_code == 400
    assert "list fields support" in response.json()["message"]


def model_validator() -> Draft202012Validator:
    document = served_document()
    schema = {**document["components"]["schemas"]["RegisteredModel"]}
    schema["components"] = document["components"]
    return Draft202012Validator(schema, format_checker=FormatChecker())


URIS = ["https://www.apache.org/licenses/LICENSE-2.0", "data:image/png;base64,iVBORw0KGgo="]
NOT_URIS = ["", "apache license", "/LICENSE", "https://exa mple.com", "http://[::zz]/"]


@pytest.mark.parametrize("field", ["licenseLink", "logo"])
def test_uri_fields_take_uris_only_and_answers_stay_schema_valid(
    api: Api, make: Factory, field: str
) -> None:
    model = make.model("licensed", **{field: URIS[0]})
    for good in URIS:
        assert api.patch(f"registered_models/{model['id']}", {field: good}).status_code == 200
    for bad in NOT_URIS:
        response = api.patch(f"registered_models/{model['id']}", {field: bad})
        assert response.status_code == 400, bad
        assert "absolute URI" in response.json()["message"]
        assert api.post("registered_models", {"name": "other", field: bad}).status_code == 400
    stored = api.ok(f"registered_models/{model['id']}")
    assert stored[field] == URIS[-1]
    for entity in (stored, *api.ok("registered_models")["items"]):
        model_validator().validate(entity)


def test_metric_history_keeps_and_filters_on_state(api: Api, make: Factory) -> None:
    run = make.run(make.experiment())["id"]
    for state, value in (("LIVE", 0.5), ("ABANDONED", 0.4)):
        metric = {"artifactType": "metric", "name": "loss", "value": value, "state": state}
        api.post(f"experiment_runs/{run}/artifacts", metric)
    history = api.ok(f"experiment_runs/{run}/metric_history")["items"]
    assert [entry["state"] for entry in history] == ["LIVE", "ABANDONED"]
    live = api.ok("experiment_runs/metric_history", filterQuery="name='loss' AND state='LIVE'")
    assert [entry["value"] for entry in live["items"]] == [0.5]
    refused = api.get("experiment_runs/metric_history", filterQuery="colour = 'red'")
    assert refused.status_code == 400


def test_empty_external_id_is_stored_and_empty_name_refused(api: Api, make: Factory) -> None:
    """Upstream stores `""` for an optional externalId (taken once, like any other) and name;
    an empty name would break the document's answers (minLength 1), so it is a 400 here."""
    version = make.version(make.model())["id"]
    doc = {"artifactType": "doc-artifact", "externalId": "", "uri": "s3://b/k"}
    artifact = api.created(f"model_versions/{version}/artifacts", doc)
    assert artifact["externalId"] == ""
    assert len(artifact["name"]) == 36  # no name: a UUID, as upstream
    assert api.post(f"model_versions/{version}/artifacts", doc).status_code == 409
    empty_name = api.post(f"model_versions/{version}/artifacts", {**doc, "name": ""})
    assert empty_name.status_code == 400
    assert empty_name.json()["message"].startswith("name must not be empty")
    assert api.post("registered_models", {"name": ""}).status_code == 422
    assert api.post("registered_models", {"name": "x", "externalId": "e" * 256}).status_code == 400


@pytest.mark.parametrize(("given", "stored"), [("+0001000", "1000"), ("-5", "-5")])
def test_epoch_strings_parse_as_go_parse_int(
    api: Api, make: Factory, given: str, stored: str
) -> None:
    experiment = make.experiment()["id"]
    run = api.created("experiment_runs", {"experimentId": experiment, "startTimeSinceEpoch": given})
    assert run["startTimeSinceEpoch"] == stored
    for bad in ("", "1.5", "1e3", "9223372036854775808", "1" * 65):
        body = {"experimentId": experiment, "startTimeSinceEpoch": bad}
        assert api.post("experiment_runs", body).status_code == 400, bad


def test_custom_property_keys_may_be_empty_but_not_too_long(api: Api) -> None:
    value = {"metadataType": "MetadataStringValue", "string_value": "v"}
    model = api.created("registered_models", {"name": "m", "customProperties": {"": value}})
    assert model["customProperties"] == {"": value}
    too_long = {"name": "n", "customProperties": {"k" * 256: value}}
    assert api.post("registered_models", too_long).status_code == 400
