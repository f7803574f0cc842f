"""The compiled IR YAML: committed, up to date, credential-free, ready for a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from pipelines.compile import COMPILED_PATH, main
from pipelines.pipeline import DATA_CONNECTION_KEYS, DEFAULT_IMAGE

CREDENTIAL_VALUES = ("demo-access-key", "demo-secret-key")


def load_documents(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load_all(path.read_text()))


def test_compiled_yaml_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "mnist_pipeline.yaml"
    assert main(["--output", str(fresh), "--image", DEFAULT_IMAGE]) == 0
    assert COMPILED_PATH.read_text() == fresh.read_text(), (
        f"{COMPILED_PATH.name} is out of date with pipelines/*.py: "
        "run `.venv/bin/python -m pipelines.compile` and commit the result."
    )


def test_compiled_yaml_declares_every_parameter() -> None:
    spec = load_documents(COMPILED_PATH)[0]
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    defaults = {name: p.get("defaultValue") for name, p in parameters.items()}
    assert defaults == {
        "kind": "dense",
        "epochs": 3.0,
        "learning_rate": 0.001,
        "min_accuracy": 0.9,
        "model_name": "MNIST",
        "registry_url": "http://localhost:8080",
        "s3_endpoint": "",
        "s3_bucket": "",
        "data_connection": "aws-connection-models",
    }


def test_compiled_yaml_has_train_validate_and_both_branches() -> None:
    spec = load_documents(COMPILED_PATH)[0]
    executors = spec["deploymentSpec"]["executors"]
    assert set(executors) == {"exec-train", "exec-validate", "exec-publish", "exec-not-registered"}
    conditions = [
        task["triggerPolicy"]["condition"]
        for component in spec["components"].values()
        for task in component.get("dag", {}).get("tasks", {}).values()
        if "triggerPolicy" in task
    ]
    assert any("validate-passed" in c and c.startswith("!") for c in conditions)
    assert any("validate-passed" in c and not c.startswith("!") for c in conditions)


def test_compiled_yaml_has_no_credentials() -> None:
    text = COMPILED_PATH.read_text()
    for value in CREDENTIAL_VALUES:
        assert value not in text


def test_compiled_yaml_mounts_data_connection_only_for_publish() -> None:
    platform = load_documents(COMPILED_PATH)[1]["platforms"]["kubernetes"]
    executors = platform["deploymentSpec"]["executors"]
    assert set(executors) == {"exec-publish"}
    mount = executors["exec-publish"]["secretAsEnv"][0]
    assert [pair["envVar"] for pair in mount["keyToEnv"]] == list(DATA_CONNECTION_KEYS)
    assert mount["secretNameParameter"]["componentInputParameter"].endswith("data_connection")


def test_compile_image_flag_sets_every_step_image(tmp_path: Path) -> None:
    output = tmp_path / "custom.yaml"
    assert main(["--output", str(output), "--image", "registry.example/me/mnist:1"]) == 0
    executors = load_documents(output)[0]["deploymentSpec"]["executors"]
    assert {e["container"]["image"] for e in executors.values()} == {"registry.example/me/mnist:1"}
    assert all("pip install" not in str(e["container"]["command"]) for e in executors.values())
