"""Every Containerfile copies each first-party package that what its image runs imports,
followed module by module (the pipeline image runs `pipelines.components`, the suite image
the manifests' commands, the model runtime's stages training and `python -m serving`):
nothing can fail with ModuleNotFoundError only inside an image. Where training runs, the
image also holds data/mnist, the offline fallback training.data reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from containerfile_rules import Containerfile, Stage, copied_sources, parse
from k8s_rules import REPO, KubeObject, all_containers, command_line, module_run_by

from tests.import_graph import PARTS, module_closure

FIRST_PARTY = PARTS | {"contracts", "mr_client"}
# Files a module reads beside the packages: training's offline fallback, the real MNIST test set.
READS = {"training.data": "data"}


def packages_imported(entries: set[str]) -> set[str]:
    """The first-party packages `entries` import, and the folders those modules read."""
    closure = module_closure(REPO, entries, FIRST_PARTY)
    return {name.split(".")[0] for name in closure} | {READS[m] for m in closure if m in READS}


def copied_by(containerfile: str) -> set[str]:
    return copied_sources(parse((REPO / containerfile).read_text()))


def copied_into(containerfile: Containerfile, stage: Stage) -> set[str]:
    """What `stage` and the stages it is built FROM copy from the build context."""
    by_name = {each.name: each for each in containerfile.stages}
    chain = [stage]
    while chain[-1].base in by_name:
        chain.append(by_name[chain[-1].base])
    return copied_sources(Containerfile(containerfile.args, chain))


def suite_entries(objects: list[KubeObject]) -> set[str]:
    """What the manifests run: `python -m <module>` and `streamlit run <script>` (as a module)."""
    entries: set[str] = set()
    for _, container, _ in all_containers(objects):
        module, line = module_run_by(container), command_line(container)
        if module == "streamlit" and line[3:4] == ["run"]:
            entries.add(line[4].removesuffix(".py").replace("/", "."))
        elif module and module.split(".")[0] in FIRST_PARTY:
            entries.add(module)
    return entries


def test_the_pipeline_image_copies_what_its_steps_import() -> None:
    needed = packages_imported({"pipelines.components"})
    assert {"pipelines", "training", "contracts", "mr_client", "data"} <= needed
    assert needed - copied_by("pipelines/Containerfile") == set()


def test_the_suite_image_copies_what_the_manifests_run(default_render: list[KubeObject]) -> None:
    entries = suite_entries(default_render)
    assert {"registry_local", "serving", "serving.controller", "app.streamlit_app"} <= entries
    assert packages_imported(entries) - copied_by("deploy/Containerfile") == set()


@pytest.mark.parametrize(
    ("stage", "entries"),
    [("train", {path.stem for path in (REPO / "training").glob("*.py")}),
     ("serve", {"__main__"})],
)  # fmt: skip
def test_each_model_runtime_stage_copies_what_it_runs(stage: str, entries: set[str]) -> None:
    containerfile = parse((REPO / "deploy" / "Containerfile.model").read_text())
    (built,) = [each for each in containerfile.stages if each.name == stage]
    package = "training" if stage == "train" else "serving"
    needed = packages_imported({f"{package}.{entry}" for entry in entries})
    assert package in needed
    assert ("data" in needed) == (stage == "train")
    assert needed - copied_into(containerfile, built) == set()


@pytest.mark.parametrize(
    ("source", "entries", "expected"),
    [
        ("from pkg import sub\n", {"pkg.main"}, {"pkg", "pkg.main", "pkg.sub", "other"}),
        ("import json\n", {"pkg.main"}, {"pkg", "pkg.main"}),
    ],
)
def test_the_closure_follows_submodules_and_package_inits(
    tmp_path: Path, source: str, entries: set[str], expected: set[str]
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "other").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "main.py").write_text(source)
    (tmp_path / "pkg" / "sub.py").write_text("import other\n")
    (tmp_path / "other" / "__init__.py").write_text("import json\n")
    closure = module_closure(tmp_path, entries, frozenset({"pkg", "other"}))
    assert closure == expected
