"""The README documents every make target, and .ci/run calls the README's test command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def make_targets() -> list[str]:
    listing = subprocess.run(["make", "--no-print-directory", "help"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    return re.findall(r"^\s+make (\S+)", listing, flags=re.MULTILINE)


def test_make_help_lists_targets() -> None:
    assert {"demo", "test", "install", "up", "down", "status"} <= set(make_targets())


@pytest.mark.parametrize("target", make_targets())
def test_every_make_target_documented_in_readme(target: str) -> None:
    assert f"make {target}" in README


def test_readme_opens_with_the_two_commands() -> None:
    opening = README[:400]
    assert "make demo" in opening
    assert "make test" in opening


def test_ci_runs_the_readme_test_command() -> None:
    assert "make test" in (REPO / ".ci" / "run").read_text()
