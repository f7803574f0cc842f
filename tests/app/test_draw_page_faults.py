"""The draw page when the inference server or the registry goes down in the middle of a
drawing, and when it comes back: one sentence while it is down, the answer again once it is
back (without drawing anything more), never a traceback.

These tests stop and restart real servers, so they run their own: a registry on a copy of the
session registry's database (MNIST published, `mnist-e2e` deployed), an inference server and a
controller that loads `mnist-e2e` into it, and an app reading that registry.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Error, Page, expect

from app.deployments import deployed
from app.recent_deployments import MAX_AGE
from app.registry_client import RegistryClient
from stack.proc import ServiceProcess
from stack.seaweed import S3Settings
from tests.app.app_stack import DIGIT_STROKES, RunningStack, running_app, running_stack
from tests.app.draw_page_driver import answer_of, draw, drawn

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]


@dataclass(frozen=True)
class FaultStack:
    """The stack these tests stop parts of, and the app reading its registry."""

    stack: RunningStack
    app_url: str


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database that a running registry uses."""
    with closing(sqlite3.connect(source)) as live, closing(sqlite3.connect(target)) as copy:
        live.backup(copy)


def wait_for_endpoint(registry_url: str, serving_url: str, timeout: float = 60) -> None:
    """Until the registry says every deployed model is served by `serving_url`."""
    deadline = time.monotonic() + timeout
    with closing(RegistryClient(registry_url)) as registry:
        while not all(
            (d.infer_url or "").startswith(serving_url) for d in deployed(registry, "local")
        ):
            assert time.monotonic() < deadline, f"no deployment served by {serving_url}"
            time.sleep(0.2)


@pytest.fixture(scope="module")
def faults_stack(
    app_stack: RunningStack,
    cnn_deployed: str,
    s3_server: S3Settings,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[FaultStack]:
    root = tmp_path_factory.mktemp("app-faults")
    copy_database(app_stack.root / "registry.db", root / "registry.db")
    with running_stack(root, s3_server.as_env()) as stack:
        wait_for_endpoint(stack.registry_url, stack.serving_url)
        with running_app(root, stack.registry_url, "app-faults") as url:
            yield FaultStack(stack, url)


@pytest.fixture
def page_errors(page: Page) -> list[Error]:
    """Uncaught errors of the page's scripts, collected while the test runs."""
    errors: list[Error] = []
    page.on("pageerror", lambda error: errors.append(error))
    return errors


def expect_no_trace(page: Page, errors: list[Error]) -> None:
    expect(page.get_by_text("Traceback")).to_have_count(0)
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
    assert errors == []


def expect_recovered_four(page: Page, service: str) -> None:
    """The whole 4 answered, with no problem left on the page."""
    expect(answer_of(page, service)).to_have_attribute("data-drawing", "0-2")
    expect(answer_of(page, service)).to_have_text("4")
    expect(page.get_by_role("alert")).to_have_count(0)


def stopped_part(stack: RunningStack, part: str) -> tuple[ServiceProcess, str]:
    """The process of `part`, and the sentence the draw page says while it is down."""
    if part == "inference server":
        return stack.serving, (
            f"The inference server at {stack.serving_url} is not answering; start it with "
            "make serving (or the whole demo with make up)."
        )
    return stack.registry, (
        f"The model registry at {stack.registry_url} is not answering; start it with "
        "make registry (or the whole demo with make up), or point MODEL_REGISTRY_URL at it."
    )


@pytest.mark.parametrize("part", ["inference server", "registry"])
def test_draw_page_explains_part_down_mid_drawing_and_recovers(
    page: Page, page_errors: list[Error], faults_stack: FaultStack, cnn_deployed: str, part: str
) -> None:
    first, second = DIGIT_STROKES[4]
    canvas = drawn(page, faults_stack.app_url, [first], cnn_deployed)
    process, sentence = stopped_part(faults_stack.stack, part)
    process.stop()
    try:
        time.sleep(MAX_AGE)  # the deployments read before are no longer reused
        draw(page, canvas, [second])
        alert = page.get_by_role("alert")
        expect(alert).to_have_count(1)
        expect(alert).to_contain_text(sentence)
        expect(answer_of(page, cnn_deployed)).to_have_count(0)
        expect_no_trace(page, page_errors)
    finally:
        process.start().wait_healthy(timeout=60)
    expect_recovered_four(page, cnn_deployed)  # without drawing anything more
    expect_no_trace(page, page_errors)
