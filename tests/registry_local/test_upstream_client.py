"""The upstream Python client (`model-registry`, unchanged) against a real registry_local."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import httpx
import pytest

model_registry = pytest.importorskip("model_registry")

pytestmark = [pytest.mark.server, pytest.mark.filterwarnings("ignore:User access token")]

METADATA = {"accuracy": 0.98, "epochs": 5, "validated": True, "framework": "tensorflow"}
TOKEN = "client-t0ken"


@pytest.fixture
def registry(registry_server: Any) -> Any:
    return model_registry.ModelRegistry(
        "http://127.0.0.1", registry_server.port, author="tester", is_secure=False
    )


def register(registry: Any, version: str, **extra: Any) -> Any:
    return registry.register_model(
        "MNIST",
        f"s3://models/MNIST/{version}/model.onnx",
        model_format_name="onnx",
        model_format_version="1",
        version=version,
        storage_key="aws-connection-models",
        storage_path=f"MNIST/{version}",
        **extra,
    )


def test_client_register_and_get_model(registry: Any) -> None:
    model = register(registry, "v1", metadata=METADATA, version_description="dense")
    assert (model.name, model.owner) == ("MNIST", "tester")
    assert registry.get_registered_model("MNIST").id == model.id
    version = registry.get_model_version("MNIST", "v1")
    assert (version.author, version.description) == ("tester", "dense")
    assert version.custom_properties == METADATA
    artifact = registry.get_model_artifact("MNIST", "v1")
    assert artifact.uri == "s3://models/MNIST/v1/model.onnx"
    assert (artifact.model_format_name, artifact.model_format_version) == ("onnx", "1")
    assert (artifact.storage_key, artifact.storage_path) == ("aws-connection-models", "MNIST/v1")


def test_client_missing_entities(registry: Any) -> None:
    assert registry.get_registered_model("nothing") is None
    register(registry, "v1")
    assert registry.get_model_version("MNIST", "v9") is None
    with pytest.raises(model_registry.exceptions.StoreError):
        register(registry, "v1")


def test_client_update_version_artifact_and_model(registry: Any) -> None:
    register(registry, "v1", metadata=METADATA)
    version = registry.get_model_version("MNIST", "v1")
    version.description = "promoted"
    version.custom_properties = {"stage": "production"}
    updated = registry.update(version)
    assert updated.description == "promoted"
    assert updated.custom_properties == {"stage": "production"}
    assert int(updated.last_update_time_since_epoch) > int(version.last_update_time_since_epoch)
    artifact = registry.get_model_artifact("MNIST", "v1")
    artifact.uri = "s3://models/MNIST/v1/model-fixed.onnx"
    assert registry.update(artifact).uri == artifact.uri
    model = registry.get_registered_model("MNIST")
    model.description = "handwritten digits"
    assert registry.update(model).description == "handwritten digits"
    assert registry.get_registered_model("MNIST").description == "handwritten digits"


ORDERINGS = list(
    itertools.product(
        ["order_by_id", "order_by_creation_time", "order_by_update_time"],
        ["ascending", "descending"],
    )
)


def test_client_pagers_with_every_ordering(registry: Any) -> None:
    names = [f"v{number}" for number in range(1, 6)]
    for name in names:
        register(registry, name)
    touched = registry.get_model_version("MNIST", "v2")
    touched.description = "touched last"
    registry.update(touched)
    for model_name in ("CNN", "Dense"):
        registry.register_model(
            model_name, "s3://x", model_format_name="onnx", model_format_version="1", version="1"
        )
    for ordering, direction in ORDERINGS:
        pager = getattr(getattr(registry.get_model_versions("MNIST"), ordering)(), direction)()
        listed = [version.name for version in pager.page_size(2)]
        expected = names if ordering != "order_by_update_time" else [*names[:1], *names[2:], "v2"]
        assert listed == (expected if direction == "ascending" else expected[::-1])
        models = getattr(getattr(registry.get_registered_models(), ordering)(), direction)()
        model_names = [model.name for model in models.page_size(2)]
        expected_models = ["MNIST", "CNN", "Dense"]
        ascending = direction == "ascending"
        assert model_names == (expected_models if ascending else expected_models[::-1])


@pytest.fixture
def protected_server(make_registry_server: Callable[..., Any]) -> Any:
    """A real registry_local started with --auth-token."""
    return make_registry_server("--auth-token", TOKEN)


def test_client_user_token_works_with_protected_server(protected_server: Any) -> None:
    registry = model_registry.ModelRegistry(
        "http://127.0.0.1", protected_server.port, author="tester", is_secure=False,
        user_token=TOKEN,
    )  # fmt: skip
    model = register(registry, "v1", metadata=METADATA)
    assert registry.get_registered_model("MNIST").id == model.id
    assert registry.get_model_artifact("MNIST", "v1").uri == "s3://models/MNIST/v1/model.onnx"


@pytest.mark.parametrize("token", [None, "wrong"])
def test_client_without_the_token_is_refused(protected_server: Any, token: str | None) -> None:
    """The client probes the server when it is built: that first call already gets 401."""
    with pytest.raises(Exception, match="401") as refused:
        model_registry.ModelRegistry(
            "http://127.0.0.1", protected_server.port, author="tester", is_secure=False,
            user_token=token,
        )  # fmt: skip
    assert type(refused.value).__name__ == "UnauthorizedException"
    listing = httpx.get(
        f"{protected_server.url}/api/model_registry/v1alpha3/registered_models",
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert listing.json()["items"] == []
