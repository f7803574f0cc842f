"""RegisteredModel: create, get, update, find, and every bad input next to the good one."""

from __future__ import annotations

import pytest

from .support import Api, Factory, bool_property, double_property, int_property, string_property


def test_create_registered_model_returns_server_fields(api: Api) -> None:
    response = api.post("registered_models", {"name": "MNIST", "owner": "me"})
    assert response.status_code == 201
    model = response.json()
    assert model["id"] == "1"
    assert model["name"] == "MNIST"
    assert model["owner"] == "me"
    assert model["state"] == "LIVE"
    assert model["customProperties"] == {}
    assert model["createTimeSinceEpoch"] == model["lastUpdateTimeSinceEpoch"]
    assert model["createTimeSinceEpoch"].isdigit()


def test_create_registered_model_with_catalog_fields(api: Api) -> None:
    body = {"name": "m", "language": ["en", "es"], "tasks": ["digits"], "license": "apache-2.0"}
    model = api.created("registered_models", body)
    assert model["language"] == ["en", "es"]
    assert model["tasks"] == ["digits"]
    assert api.ok(f"registered_models/{model['id']}")["license"] == "apache-2.0"


def test_create_registered_model_missing_name_is_422(api: Api) -> None:
    response = api.post("registered_models", {"description": "no name"})
    assert response.status_code == 422
    assert "name" in response.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "m", "colour": "red"},
        {"name": 5},
        {"name": "m", "state": "GONE"},
        {"name": "m", "language": "en"},
        {"name": "m", "language": [1]},
        {"name": "x" * 256},
        {"name": "nul\u0000"},
        {"name": "m", "id": "7"},
    ],
)
def test_create_registered_model_bad_body_is_400(api: Api, body: dict[str, object]) -> None:
    response = api.post("registered_models", body)
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message"}
    assert api.ok("registered_models")["items"] == []


def test_create_registered_model_duplicate_name_is_409(api: Api, make: Factory) -> None:
    make.model("MNIST", description="first")
    response = api.post("registered_models", {"name": "MNIST", "description": "second"})
    assert response.status_code == 409
    models = api.ok("registered_models")["items"]
    assert [model["description"] for model in models] == ["first"]


def test_create_registered_model_duplicate_external_id_is_409(api: Api, make: Factory) -> None:
    make.model("a", externalId="ext-1")
    assert api.post("registered_models", {"name": "b", "externalId": "ext-1"}).status_code == 409


def test_create_registered_model_names_are_case_sensitive(make: Factory) -> None:
    assert make.model("mnist")["id"] != make.model("MNIST")["id"]


def test_get_registered_model_returns_it(api: Api, make: Factory) -> None:
    model = make.model()
    assert api.ok(f"registered_models/{model['id']}") == model


def test_get_registered_model_unknown_id_is_404(api: Api) -> None:
    response = api.get("registered_models/42")
    assert response.status_code == 404
    assert response.json() == {
        "code": "Not Found",
        "message": "no registered model found for id 42: not found",
    }


@pytest.mark.parametrize(
    "bad_id", ["abc", "1.5", "12345678901", "2147483648", "-2147483649", "1e3", "1%0A", "%D9%A3"]
)
def test_get_registered_model_id_not_a_32_bit_integer_is_400(api: Api, bad_id: str) -> None:
    """Upstream's `strconv.ParseInt(id, 10, 32)` refuses these (a trailing newline and an
    Arabic-Indic digit too): 400."""
    response = api.get(f"registered_models/{bad_id}")
    assert response.status_code == 400
    assert "32-bit decimal integer" in response.json()["message"]


@pytest.mark.parametrize("unknown_id", ["0", "-1", "1592733346", "2147483647", "-2147483648"])
def test_get_registered_model_32_bit_id_naming_nothing_is_404(api: Api, unknown_id: str) -> None:
    """Any id upstream's int32 parse accepts is looked up: one naming nothing is 404."""
    assert api.get(f"registered_models/{unknown_id}").status_code == 404


def test_get_registered_model_id_with_sign_or_leading_zeros_is_parsed(
    api: Api, make: Factory
) -> None:
    model_id = make.model()["id"]
    for spelling in (f"+{model_id}", f"00{model_id}"):
        assert api.get(f"registered_models/{spelling}").json()["id"] == model_id


def test_get_registered_model_of_another_type_is_404(api: Api, make: Factory) -> None:
    environment = make.environment()
    assert api.get(f"registered_models/{environment['id']}").status_code == 404


def test_update_registered_model_changes_only_given_fields(api: Api, make: Factory) -> None:
    model = make.model(description="old", owner="me")
    response = api.patch(f"registered_models/{model['id']}", {"description": "new"})
    assert response.status_code == 200
    updated = response.json()
    assert updated["description"] == "new"
    assert updated["owner"] == "me"
    assert updated["createTimeSinceEpoch"] == model["createTimeSinceEpoch"]
    assert api.ok(f"registered_models/{model['id']}") == updated


def test_update_registered_model_update_time_strictly_increases(api: Api, make: Factory) -> None:
    model = make.model()
    times = [int(model["lastUpdateTimeSinceEpoch"])]
    for state in ("ARCHIVED", "LIVE", "ARCHIVED", "LIVE"):
        updated = api.patch(f"registered_models/{model['id']}", {"state": state}).json()
        times.append(int(updated["lastUpdateTimeSinceEpoch"]))
    assert times == sorted(set(times))


def test_update_registered_model_custom_properties_replace_the_map(api: Api, make: Factory) -> None:
    model = make.model(customProperties={"a": string_property("1"), "b": string_property("2")})
    body = {"customProperties": {"c": int_property(3)}}
    updated = api.patch(f"registered_models/{model['id']}", body).json()
    assert updated["customProperties"] == {"c": int_property(3)}
    assert api.ok(f"registered_models/{model['id']}")["customProperties"] == {"c": int_property(3)}


def test_update_registered_model_without_custom_properties_keeps_them(
    api: Api, make: Factory
) -> None:
    model = make.model(customProperties={"a": string_property("1")})
    updated = api.patch(f"registered_models/{model['id']}", {"owner": "x"}).json()
    assert updated["customProperties"] == {"a": string_property("1")}


@pytest.mark.parametrize(
    "body", [{"name": "renamed"}, {"state": "DELETED"}, {"owner": 3}, {"createTimeSinceEpoch": "1"}]
)
def test_update_registered_model_bad_body_is_400(
    api: Api, make: Factory, body: dict[str, object]
) -> None:
    model = make.model()
    assert api.patch(f"registered_models/{model['id']}", body).status_code == 400
    assert api.ok(f"registered_models/{model['id']}") == model


def test_update_registered_model_unknown_id_is_404(api: Api) -> None:
    assert api.patch("registered_models/9", {"description": "x"}).status_code == 404


def test_custom_properties_of_every_type_round_trip(make: Factory) -> None:
    properties = {
        "framework": string_property("onnx"),
        "epochs": int_property(-12),
        "accuracy": double_property(0.98),
        "validated": bool_property(True),
        "blob": {"metadataType": "MetadataStructValue", "struct_value": "e30="},
        "proto": {"metadataType": "MetadataProtoValue", "type": "t", "proto_value": "AA=="},
    }
    assert make.model(customProperties=properties)["customProperties"] == properties


@pytest.mark.parametrize(
    "value",
    [
        {"metadataType": "MetadataIntValue", "int_value": 5},
        {"metadataType": "MetadataIntValue", "int_value": "5.5"},
        {"metadataType": "MetadataIntValue", "int_value": "9223372036854775808"},
        {"metadataType": "MetadataIntValue", "int_value": "007"},
        {"metadataType": "MetadataDoubleValue", "double_value": "0.5"},
        {"metadataType": "MetadataBoolValue", "bool_value": "true"},
        {"metadataType": "MetadataStringValue"},
        {"metadataType": "MetadataStringValue", "string_value": "x", "extra": 1},
        {"metadataType": "MetadataNothing", "string_value": "x"},
        {"string_value": "x"},
        "plain",
    ],
)
def test_create_registered_model_bad_custom_property_is_400(api: Api, value: object) -> None:
    body = {"name": "m", "customProperties": {"p": value}}
    assert api.post("registered_models", body).status_code == 400


def test_find_registered_model_by_name_and_external_id(api: Api, make: Factory) -> None:
    model = make.model("MNIST", externalId="ext")
    make.model("other")
    assert api.ok("registered_model", name="MNIST") == model
    assert api.ok("registered_model", externalId="ext") == model


def test_find_registered_model_no_match_is_404(api: Api, make: Factory) -> None:
    make.model("MNIST")
    assert api.get("registered_model", name="mnist").status_code == 404


def test_find_registered_model_without_parameters_is_400(api: Api) -> None:
    assert api.get("registered_model").status_code == 400
