"""filterQuery: the parser, and filtering over built-in fields and custom properties."""

from __future__ import annotations

from typing import Any

import pytest

from registry_local.errors import BadRequest
from registry_local.filter_query import Comparison, Junction, parse_filter

from .support import Api, Factory, bool_property, double_property, int_property, string_property


def test_parse_filter_precedence_and_groups() -> None:
    parsed = parse_filter("a = 1 OR b = 'x' AND (c > 2.5 OR d IN (1, 2))")
    assert parsed == Junction(
        "OR",
        (
            Comparison("a", None, "=", 1),
            Junction(
                "AND",
                (
                    Comparison("b", None, "=", "x"),
                    Junction(
                        "OR", (Comparison("c", None, ">", 2.5), Comparison("d", None, "IN", (1, 2)))
                    ),
                ),
            ),
        ),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name like 'm%'", Comparison("name", None, "LIKE", "m%")),
        ("x <> true", Comparison("x", None, "!=", True)),
        ("x.double_value >= -1e-5", Comparison("x", "double_value", ">=", -1e-5)),
        ('`mlflow.source.type` = "nb"', Comparison("mlflow.source.type", None, "=", "nb")),
        ("`a-b`.string_value = 'it\\'s'", Comparison("a-b", "string_value", "=", "it's")),
        ("a.b.c = 1", Comparison("a.b.c", None, "=", 1)),
        ("x IN ()", Comparison("x", None, "IN", ())),
        ("   ", None),
    ],
)
def test_parse_filter_forms(text: str, expected: object) -> None:
    assert parse_filter(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "name =",
        "= 'x'",
        "name = 'x' AND",
        "(name = 'x'",
        "name = 'x')",
        "name ~ 'x'",
        "name = 'unterminated",
        "name = x",
        "a = 99999999999999999999",
        "a = 1e999",
        "x IN (1, 2",
        "`x`.colour = 1",
        "(" * 40 + "a = 1" + ")" * 40,
        " OR ".join(["a = 1"] * 101),
        "name = '" + "x" * 70_000 + "'",
    ],
)
def test_parse_filter_malformed_is_bad_request(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_filter(text)


@pytest.fixture
def models(make: Factory) -> dict[str, dict[str, Any]]:
    return {
        "tf": make.model(
            "mnist-tf",
            owner="ana",
            customProperties={
                "framework": string_property("tensorflow"),
                "accuracy": double_property(0.97),
                "epochs": int_property(10),
                "validated": bool_property(True),
                "mlflow.source.type": string_property("notebook"),
            },
        ),
        "torch": make.model(
            "mnist-torch",
            owner="bo",
            state="ARCHIVED",
            customProperties={
                "framework": string_property("pytorch"),
                "accuracy": double_property(0.91),
                "epochs": double_property(3.0),
                "validated": bool_property(False),
            },
        ),
        "other": make.model("fashion", owner="ana"),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name = 'mnist-tf'", ["tf"]),
        ('name != "mnist-tf"', ["torch", "other"]),
        ("name LIKE 'mnist%'", ["tf", "torch"]),
        ("name LIKE 'MNIST%'", []),
        ("name ILIKE 'MNIST%'", ["tf", "torch"]),
        ("name IN ('fashion', 'mnist-torch')", ["torch", "other"]),
        ("state = 'ARCHIVED'", ["torch"]),
        ("owner = 'ana' AND state = 'LIVE'", ["tf", "other"]),
        ("(owner = 'bo' OR name = 'fashion') AND state = 'LIVE'", ["other"]),
        ("id > 1", ["torch", "other"]),
        ("id = '2'", ["torch"]),
        ("framework = 'pytorch'", ["torch"]),
        ("framework.string_value LIKE '%flow'", ["tf"]),
        ("framework ILIKE '%TORCH'", ["torch"]),
        ("accuracy > 0.95", ["tf"]),
        ("accuracy.double_value <= 0.95", ["torch"]),
        ("epochs >= 5", ["tf"]),
        ("epochs = 3", ["torch"]),
        ("epochs.int_value = 10", ["tf"]),
        ("validated = true", ["tf"]),
        ("validated.bool_value = FALSE", ["torch"]),
        ("`mlflow.source.type` = 'notebook'", ["tf"]),
        ("framework IN ('pytorch', 'jax')", ["torch"]),
        ("colour = 'red'", []),
        ("createTimeSinceEpoch > 0 AND lastUpdateTimeSinceEpoch > 0", ["tf", "torch", "other"]),
    ],
)
def test_list_registered_models_filtered(
    api: Api, models: dict[str, dict[str, Any]], query: str, expected: list[str]
) -> None:
    items = api.ok("registered_models", filterQuery=query)["items"]
    by_id = {model["id"]: key for key, model in models.items()}
    assert [by_id[item["id"]] for item in items] == expected


@pytest.mark.parametrize(
    "query",
    [
        "name = ",
        "id = 'abc'",
        "id LIKE '1%'",
        "name = true",
        "epochs.int_value = 'ten'",
        "validated.bool_value = 'maybe'",
        "accuracy.double_value LIKE '0.9%'",
        "nul = '\u0000'",
    ],
)
def test_list_registered_models_bad_filter_is_400(
    api: Api, models: dict[str, Any], query: str
) -> None:
    response = api.get("registered_models", filterQuery=query)
    assert response.status_code == 400
    assert "filterQuery" in response.json()["message"]


def test_filter_model_versions_by_name_and_model(api: Api, make: Factory) -> None:
    first, second = make.model("a"), make.model("b")
    wanted = make.version(first, "v1", author="ana")
    make.version(second, "v1")
    make.version(first, "v2")
    query = f"name = 'v1' AND registeredModelId = {first['id']}"
    assert api.ok("model_versions", filterQuery=query)["items"] == [wanted]
    assert api.ok("model_versions", filterQuery="author = 'ana'")["items"] == [wanted]


def test_filter_artifacts_across_types(api: Api, make: Factory) -> None:
    version = make.version(make.model())
    onnx = make.artifact(version, modelFormatName="onnx", name="m1")
    make.artifact(version, modelFormatName="pt", name="m2")
    metric = api.created("artifacts", {"artifactType": "metric", "name": "acc", "value": 0.9})
    param = api.created("artifacts", {"artifactType": "parameter", "name": "lr", "value": "0.1"})
    assert api.ok("artifacts", filterQuery="modelFormatName = 'onnx'")["items"] == [onnx]
    assert api.ok("artifacts", filterQuery="value > 0.5")["items"] == [metric]
    assert api.ok("artifacts", filterQuery="value = '0.1'")["items"] == [param]
    assert api.ok("artifacts", filterQuery="artifactType = 'metric'")["items"] == [metric]
    path = f"model_versions/{version['id']}/artifacts"
    assert api.ok(path, filterQuery="name = 'm1'")["items"] == [onnx]


def test_filter_inference_services_by_desired_state(api: Api, make: Factory) -> None:
    environment, model = make.environment(), make.model()
    live = make.service(environment, model, name="a")
    make.service(environment, model, name="b", desiredState="UNDEPLOYED")
    assert api.ok("inference_services", filterQuery="desiredState = 'DEPLOYED'")["items"] == [live]


def test_filter_with_paging(api: Api, make: Factory) -> None:
    model = make.model()
    versions = [make.version(model, f"v{n}", author="x" if n % 2 else "y") for n in range(6)]
    first = api.ok("model_versions", filterQuery="author = 'x'", pageSize="2")
    second = api.ok(
        "model_versions",
        filterQuery="author = 'x'",
        pageSize="2",
        nextPageToken=first["nextPageToken"],
    )
    assert first["items"] + second["items"] == versions[1::2]
    assert second["nextPageToken"] == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name", "unexpected end of filter at offset 4"),
        ("name = 'a' AND", "unexpected end of filter at offset 14"),
        ("x" * 70_000, "longer than 65536 characters"),
    ],
)
def test_parse_filter_error_says_where(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_filter(text)
