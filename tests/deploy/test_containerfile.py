"""deploy/Containerfile against the manifests that run its image, checked without building it."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from containerfile_rules import (
    Containerfile,
    base_image_violations,
    copied_sources,
    parse,
    user_violations,
)
from k8s_rules import REPO, KubeObject, all_containers, command_line, module_run_by

CONTAINERFILE = REPO / "deploy" / "Containerfile"
FIRST_PARTY = ("registry_local", "serving", "app")


@pytest.fixture(scope="module")
def containerfile() -> Containerfile:
    return parse(CONTAINERFILE.read_text())


def first_party_commands(objects: list[KubeObject]) -> dict[str, KubeObject]:
    """Module name -> container, for containers that run `python -m <first-party module>`."""
    return {
        module: container
        for _, container, _ in all_containers(objects)
        if (module := module_run_by(container)) and module.split(".")[0] in FIRST_PARTY
    }


def streamlit_scripts(objects: list[KubeObject]) -> set[str]:
    """Scripts the containers hand to `streamlit run`."""
    scripts: set[str] = set()
    for _, container, _ in all_containers(objects):
        line = command_line(container)
        if module_run_by(container) == "streamlit" and line[3:4] == ["run"]:
            scripts.add(line[4])
    return scripts


def test_parse_containerfile_final_stage_runs_as_non_root(containerfile: Containerfile) -> None:
    assert user_violations(containerfile) == []


def test_parse_containerfile_base_images_pinned_by_tag(containerfile: Containerfile) -> None:
    assert len(containerfile.stages) >= 2
    assert base_image_violations(containerfile) == []


def test_parse_containerfile_installs_locked_dependencies_without_dev_tools(
    containerfile: Containerfile,
) -> None:
    syncs = [
        run for stage in containerfile.stages for run in stage.values("RUN") if "uv sync" in run
    ]
    assert syncs
    assert all("--frozen" in run and "--no-dev" in run for run in syncs)
    assert not any("training" in run for run in syncs)


def test_parse_containerfile_copies_every_part_the_manifests_run(
    containerfile: Containerfile, default_render: list[KubeObject]
) -> None:
    copied = copied_sources(containerfile)
    for module in first_party_commands(default_render):
        assert module.split(".")[0] in copied
    for script in streamlit_scripts(default_render):
        assert script.split("/")[0] in copied


def test_parse_containerfile_build_command_tags_the_manifests_image(
    default_render: list[KubeObject], renders: dict[Path, list[KubeObject]]
) -> None:
    images = {c["image"] for objects in renders.values() for _, c, _ in all_containers(objects)}
    assert len(images) == 1
    assert f"-t {images.pop()} ." in CONTAINERFILE.read_text()


def test_find_modules_and_scripts_the_manifests_run(default_render: list[KubeObject]) -> None:
    for module in first_party_commands(default_render):
        assert importlib.util.find_spec(module) is not None, module
    for script in streamlit_scripts(default_render):
        assert (REPO / script).is_file(), script


def test_read_cli_help_documents_every_env_var_the_manifests_set(
    default_render: list[KubeObject],
) -> None:
    config_maps = {o["metadata"]["name"]: o for o in default_render if o["kind"] == "ConfigMap"}
    for module, container in first_party_commands(default_render).items():
        names = {item["name"] for item in container.get("env", [])}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                names |= set(config_maps[source["configMapRef"]["name"]]["data"])
        help_text = subprocess.run(
            [sys.executable, "-m", module, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            cwd=REPO,
        ).stdout
        assert {name for name in names if name not in help_text} == set(), module


ROOT_IMAGE = "FROM python:3.11-slim\nRUN true\n"
NAMED_ROOT = "FROM python:3.11-slim\nUSER app\n"
LATEST_BASE = "ARG BASE=python:latest\nFROM ${BASE} AS build\nFROM build\nUSER 1000\n"
UNTAGGED_BASE = "FROM python\nUSER 1000\n"


@pytest.mark.parametrize("text", [ROOT_IMAGE, NAMED_ROOT, "FROM python:3.11\nUSER 0:0\n"])
def test_parse_root_containerfile_reports_user_violation(text: str) -> None:
    assert user_violations(parse(text)) != []


@pytest.mark.parametrize("text", [LATEST_BASE, UNTAGGED_BASE])
def test_parse_unpinned_containerfile_reports_base_image_violation(text: str) -> None:
    assert base_image_violations(parse(text)) != []


def test_parse_containerfile_joins_continuations_and_skips_stage_copies() -> None:
    text = "FROM a:1 AS build\nCOPY --chown=1 x \\\n  y /dst/\nFROM a:1\nCOPY --from=build /z /z\n"
    assert copied_sources(parse(text)) == {"x", "y"}
