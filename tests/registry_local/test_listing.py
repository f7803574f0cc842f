"""List responses: shape, pageSize, every orderBy/sortOrder, opaque keyset page tokens."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from .support import Api, Factory

ORDERS = list(itertools.product(["ID", "CREATE_TIME", "LAST_UPDATE_TIME"], ["ASC", "DESC"]))


def walk(api: Api, path: str, **params: Any) -> list[dict[str, Any]]:
    """Follow nextPageToken until the last page; every page must be well formed."""
    items: list[dict[str, Any]] = []
    token = ""
    while True:
        page = api.ok(path, nextPageToken=token, **params)
        assert set(page) == {"items", "nextPageToken", "pageSize", "size"}
        assert page["size"] == len(page["items"])
        items += page["items"]
        token = page["nextPageToken"]
        if not token:
            return items


@pytest.fixture
def versions(api: Api, make: Factory) -> list[dict[str, Any]]:
    model = make.model()
    created = [make.version(model, f"v{number}") for number in range(7)]
    api.patch(f"model_versions/{created[2]['id']}", {"author": "touched"})
    return created


def test_list_without_page_size_returns_everything(api: Api, versions: list[Any]) -> None:
    page = api.ok("model_versions")
    assert [item["id"] for item in page["items"]] == [version["id"] for version in versions]
    assert (page["nextPageToken"], page["size"]) == ("", 7)


def test_list_empty_collection(api: Api) -> None:
    assert api.ok("registered_models") == {
        "items": [],
        "nextPageToken": "",
        "pageSize": 0,
        "size": 0,
    }


@pytest.mark.parametrize(("order_by", "sort_order"), ORDERS)
def test_list_pages_cover_every_item_once_in_order(
    api: Api, versions: list[Any], order_by: str, sort_order: str
) -> None:
    params = {"pageSize": "3", "orderBy": order_by, "sortOrder": sort_order}
    items = walk(api, "model_versions", **params)
    key = {
        "ID": lambda item: int(item["id"]),
        "CREATE_TIME": lambda item: (int(item["createTimeSinceEpoch"]), int(item["id"])),
        "LAST_UPDATE_TIME": lambda item: (int(item["lastUpdateTimeSinceEpoch"]), int(item["id"])),
    }[order_by]
    expected = sorted(api.ok("model_versions")["items"], key=key, reverse=sort_order == "DESC")
    assert items == expected


def test_list_last_update_order_puts_updated_item_last(api: Api, versions: list[Any]) -> None:
    items = api.ok("model_versions", orderBy="LAST_UPDATE_TIME", sortOrder="DESC")["items"]
    assert items[0]["id"] == versions[2]["id"]


def test_list_page_size_is_reported(api: Api, versions: list[Any]) -> None:
    page = api.ok("model_versions", pageSize="5")
    assert (page["pageSize"], page["size"]) == (5, 5)
    assert page["nextPageToken"]


def test_list_pages_stay_stable_when_items_are_added(
    api: Api, make: Factory, versions: list[Any]
) -> None:
    first = api.ok("model_versions", pageSize="4")
    late = make.version(make.model("other"), "late")
    second = api.ok("model_versions", pageSize="4", nextPageToken=first["nextPageToken"])
    ids = [item["id"] for item in first["items"] + second["items"]]
    assert ids == [version["id"] for version in versions] + [late["id"]]


@pytest.mark.parametrize(
    "params",
    [
        {"nextPageToken": "garbage!"},
        {"nextPageToken": "WzEsMiwzXQ"},
        {"pageSize": "0"},
        {"pageSize": "-1"},
        {"pageSize": "ten"},
        {"orderBy": "NAME"},
        {"sortOrder": "UP"},
        {"name": "nul\u0000"},
    ],
)
def test_list_bad_parameters_are_400(api: Api, params: dict[str, str]) -> None:
    response = api.get("registered_models", **params)
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message"}


def test_list_token_for_another_order_is_400(api: Api, versions: list[Any]) -> None:
    token = api.ok("model_versions", pageSize="2")["nextPageToken"]
    response = api.get("model_versions", pageSize="2", orderBy="CREATE_TIME", nextPageToken=token)
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("registered_models", {}),
        ("registered_models/{model}/versions", {}),
        ("model_versions", {"filterQuery": "name != 'v0'"}),
        ("artifacts", {}),
    ],
)
def test_list_token_for_another_list_is_400(
    api: Api, versions: list[Any], path: str, params: dict[str, str]
) -> None:
    token = api.ok("model_versions", pageSize="2")["nextPageToken"]
    path = path.format(model=versions[0]["registeredModelId"])
    response = api.get(path, pageSize="2", nextPageToken=token, **params)
    assert response.status_code == 400
    assert "another list" in response.json()["message"]


def test_list_token_is_valid_on_every_prefix(api: Api, versions: list[Any]) -> None:
    token = api.ok("model_versions", pageSize="4")["nextPageToken"]
    page = api.with_prefix("/api/model_registry/v1").ok("model_versions", nextPageToken=token)
    assert [item["id"] for item in page["items"]] == [version["id"] for version in versions[4:]]
