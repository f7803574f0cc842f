"""Fixtures for the offline checks of deploy/: every kustomization rendered once per session."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from k8s_rules import K8S_DIR, REPO, KubeObject, render

KUSTOMIZATIONS = sorted(path.parent for path in K8S_DIR.rglob("kustomization.yaml"))


def kustomization_id(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.fixture(scope="session")
def renders() -> dict[Path, list[KubeObject]]:
    """Objects rendered by `kubectl kustomize`, keyed by kustomization directory."""
    return {path: render(path) for path in KUSTOMIZATIONS}


@pytest.fixture(params=KUSTOMIZATIONS, ids=kustomization_id)
def rendered(
    request: pytest.FixtureRequest, renders: dict[Path, list[KubeObject]]
) -> list[KubeObject]:
    """The objects of one kustomization (each test gets its own copy)."""
    return copy.deepcopy(renders[request.param])


@pytest.fixture
def default_render(renders: dict[Path, list[KubeObject]]) -> list[KubeObject]:
    """What `kubectl apply -k deploy/k8s` applies (a copy the test may change)."""
    return copy.deepcopy(renders[K8S_DIR])
