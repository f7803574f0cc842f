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


README_MAX_BYTES = 12 * 1024
PACKAGES = (
    "registry_local",
    "serving",
    "training",
    "app",
    "pipelines",
    "stack",
    "tests",
    "scripts",
)
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def test_readme_is_a_five_minute_read() -> None:
    assert len(README.encode()) <= README_MAX_BYTES


def test_readme_has_the_newcomer_sections() -> None:
    for heading in ("## Prerequisites", "## Commands", "## Ports and settings",
                    "## Workshop walkthrough", "## Troubleshooting"):  # fmt: skip
        assert heading in README


def local_links(path: Path) -> list[Path]:
    """The files a Markdown document links to inside the repository."""
    targets = LINK.findall(path.read_text())
    return [path.parent / target for target in targets if "://" not in target]


@pytest.mark.parametrize("doc", ["README.md", *sorted(str(p.relative_to(REPO))
                                 for p in (REPO / "docs").glob("*.md"))])  # fmt: skip
def test_every_linked_doc_exists(doc: str) -> None:
    missing = [str(link) for link in local_links(REPO / doc) if not link.exists()]
    assert missing == []


def test_link_check_sees_a_missing_doc(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("[here](here.md) [gone](docs/gone.md#part) [web](https://example.com/x.md)")
    (tmp_path / "here.md").write_text("")
    assert [link.exists() for link in local_links(page)] == [True, False]


@pytest.mark.parametrize("part", ["registry_local", "serving", "training", "pipelines", "app",
                                  "stack"])  # fmt: skip
def test_every_part_has_a_readme_linked_from_the_front_door(part: str) -> None:
    assert (REPO / part / "README.md").exists()
    assert f"]({part}/README.md)" in README


def test_nothing_reads_outside_the_repository() -> None:
    """A user's clone has no ../shared beside it: no code or test may reach for it."""
    readers = [
        str(path.relative_to(REPO))
        for package in PACKAGES
        for path in (REPO / package).rglob("*.py")
        if path != Path(__file__)
        and re.search(r"""parents?\b.*["']shared["']|\.\./shared""", path.read_text())
    ]
    assert readers == []


def test_ci_runs_the_fast_tier_in_a_copy_without_shared() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert 'make -C "$copy"' in ci
    assert "test-fast" in ci
    assert '[ ! -e "$copy/../shared" ]' in ci
