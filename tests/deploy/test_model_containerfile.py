"""deploy/Containerfile.model (base / train / serve), checked without building it: its pins
are uv.lock's and the requirements training records on every ModelVersion."""

from __future__ import annotations

import tomllib

import pytest
from containerfile_rules import (
    Containerfile,
    base_image_violations,
    parse,
    pin_violations,
    stage_pins,
    user_violations,
)
from k8s_rules import REPO

from training.deps import package_versions, parse_requirements, requirements_text

CONTAINERFILE = REPO / "deploy" / "Containerfile.model"
TOOLS = {"uv"}


@pytest.fixture(scope="module")
def containerfile() -> Containerfile:
    return parse(CONTAINERFILE.read_text())


@pytest.fixture(scope="module")
def locked() -> dict[str, str]:
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    return {package["name"]: package["version"] for package in lock["package"]}


def recorded_requirements() -> dict[str, str]:
    """What training records as a version's `requirements` (and writes to requirements.txt)."""
    return parse_requirements(requirements_text(package_versions()))


def test_model_containerfile_has_the_seeds_three_stages(containerfile: Containerfile) -> None:
    stages = {stage.name: stage.base for stage in containerfile.stages}
    assert stages == {"base": "${PYTHON_IMAGE}", "train": "base", "serve": "base"}
    assert containerfile.final.name == "serve"
    assert base_image_violations(containerfile) == []
    assert user_violations(containerfile) == []
    syncs = [run for stage in containerfile.stages for run in stage.values("RUN") if "sync" in run]
    assert all("--frozen" in run and "--no-dev" in run for run in syncs)


def test_model_containerfile_pins_are_the_locked_versions(
    containerfile: Containerfile, locked: dict[str, str]
) -> None:
    for stage in ("train", "serve"):
        pins = {
            name: v for name, v in stage_pins(containerfile, stage).items() if name not in TOOLS
        }
        assert pin_violations(pins, {name: locked[name] for name in pins}, "uv.lock") == []


def test_model_containerfile_pins_the_recorded_requirements(containerfile: Containerfile) -> None:
    requirements = recorded_requirements()
    train = stage_pins(containerfile, "train")
    assert pin_violations(train, requirements, "the version's requirements") == []
    serve = stage_pins(containerfile, "serve")
    serving_needs = {name: requirements[name] for name in ("numpy", "onnx", "onnxruntime")}
    assert pin_violations(serve, serving_needs, "the version's requirements") == []
    assert "tensorflow" not in serve


def test_model_containerfile_differing_requirements_are_named(
    containerfile: Containerfile,
) -> None:
    requirements = {**recorded_requirements(), "numpy": "1.26.0", "scikit-learn": "1.3.2"}
    train = stage_pins(containerfile, "train")
    found = pin_violations(train, requirements, "the version's requirements")
    assert found == [
        f"numpy: the version's requirements has 1.26.0, the Containerfile pins {train['numpy']}",
        "scikit-learn: the version's requirements has 1.3.2, the Containerfile does not pin it",
    ]


def test_stage_pins_follow_from_and_ignore_other_stages() -> None:
    text = ("FROM a:1 AS base\nRUN pip install numpy==2.0 x-y==1.2.3\nFROM base AS train\n"
            "RUN pip install tensorflow==2.21.0\nFROM base AS serve\nRUN true\n")  # fmt: skip
    parsed = parse(text)
    assert stage_pins(parsed, "train") == {"numpy": "2.0", "x-y": "1.2.3", "tensorflow": "2.21.0"}
    assert stage_pins(parsed, "serve") == {"numpy": "2.0", "x-y": "1.2.3"}
