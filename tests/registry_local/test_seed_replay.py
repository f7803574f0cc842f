"""Replay the seed's curl commands (its "Running notes", v1alpha1 paths) against a real server.

The state they expect is what the demo creates: serving environment 1, RegisteredModel
`MNIST` 2, versions 3 and 4 from the notebooks and 5 from the pipeline, each with its ONNX
model artifact. The commands run verbatim through bash, curl and jq.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

# The seed's REST section and its "Running notes", verbatim (the repository ships what it tests).
SEED = Path(__file__).resolve().parent / "fixtures" / "seed_rest_excerpt.md"
PREFIX = "/api/model_registry/v1alpha3"


def running_notes_commands() -> list[str]:
    """The curl commands of the seed's "Running notes" section, one string each."""
    text = SEED.read_text()
    notes = text.split("## Running notes", 1)[1].split("# See also", 1)[0]
    blocks = [block.strip() for block in re.split(r"\n\s*\n", notes)]
    return [block for block in blocks if block.startswith("curl")]


def rest_section_commands() -> list[str]:
    """The curl commands shown in the body of the seed (inside ``` blocks)."""
    blocks = re.findall(r"```\n(.*?)```", SEED.read_text(), re.DOTALL)
    commands = []
    for block in blocks:
        commands += [part.strip() for part in re.split(r"\n\s*\n", block) if "curl" in part]
    return commands


def create_demo_state(base: str) -> None:
    """What the notebooks and the pipeline register before the curl commands run."""
    with httpx.Client(base_url=base + PREFIX) as client:

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = client.post(path, json=body)
            assert response.status_code == 201, response.text
            entity: dict[str, Any] = response.json()
            return entity

        assert post("/serving_environments", {"name": "modelmesh"})["id"] == "1"
        assert post("/registered_models", {"name": "MNIST", "owner": "demo"})["id"] == "2"
        for name in ("v1", "v2", "pipeline-1"):
            version = post("/model_versions", {"name": name, "registeredModelId": "2"})
            post(
                f"/model_versions/{version['id']}/artifacts",
                {
                    "artifactType": "model-artifact",
                    "name": "MNIST",
                    "uri": f"s3://models/MNIST/{name}/model.onnx",
                    "modelFormatName": "onnx",
                    "modelFormatVersion": "1",
                    "storageKey": "aws-connection-models",
                    "storagePath": f"MNIST/{name}",
                },
            )


def run(command: str, base: str) -> Any:
    environment = {**os.environ, "MR_HOSTNAME": base}
    result = subprocess.run(
        ["bash", "-c", command], env=environment, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def test_seed_rest_section_commands_are_in_running_notes() -> None:
    notes = running_notes_commands()
    assert len(notes) == 8
    assert all(command in notes for command in rest_section_commands())


@pytest.mark.server
def test_seed_curl_commands_return_what_the_seed_shows(registry_server: Any) -> None:
    base = registry_server.url
    create_demo_state(base)
    models, versions, artifacts, environments, created, undeployed, redeployed, serves = [
        run(command, base) for command in running_notes_commands()
    ]
    assert [(model["id"], model["name"]) for model in models] == [("2", "MNIST")]
    assert [version["id"] for version in versions] == ["5", "4", "3"]
    assert [artifact["uri"] for artifact in artifacts] == ["s3://models/MNIST/v2/model.onnx"]
    assert artifacts[0]["artifactType"] == "model-artifact"
    assert [environment["id"] for environment in environments] == ["1"]
    assert (created["id"], created["name"], created["state"]) == ("6", "mnist-e2e", "DEPLOYED")
    assert (created["modelVersionId"], created["runtime"]) == ("4", "mmserver1")
    assert (undeployed["id"], undeployed["state"]) == ("6", "UNDEPLOYED")
    assert (redeployed["id"], redeployed["state"]) == ("6", "DEPLOYED")
    assert int(redeployed["lastUpdateTimeSinceEpoch"]) > int(undeployed["lastUpdateTimeSinceEpoch"])
    # The last note asks for the serves of id 5, which is the pipeline's ModelVersion, not an
    # InferenceService: the registry says so in its error shape.
    assert serves["code"] == "Not Found"
    current = httpx.get(f"{base}{PREFIX}/inference_services/6").json()
    assert current["desiredState"] == "DEPLOYED"
