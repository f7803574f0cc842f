"""The app in Debian's Chromium: draw digits with the mouse, deploy and undeploy, read errors.

The whole stack is real (registry_local, SeaweedFS, the inference server, the controller,
models trained and published by the training code); the app runs under `streamlit run`.
Screenshots of both pages go to test-artifacts/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from stack.proc import free_port
from tests.app.app_stack import DIGIT_STROKES, RunningStack, running_app, wait_until_ready
from tests.app.draw_page_driver import answer_of, draw, drawn, open_draw_page, shown_pixels

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]


@pytest.mark.parametrize("digit", sorted(DIGIT_STROKES))
def test_draw_page_predicts_drawn_digit(
    page: Page, app_url: str, cnn_deployed: str, digit: int, artifacts_dir: Path
) -> None:
    canvas = open_draw_page(page, app_url)
    draw(page, canvas, DIGIT_STROKES[digit])
    expect(answer_of(page, cnn_deployed)).to_have_text(str(digit))
    expect(page.locator(".probabilities > div")).to_have_count(10)
    expect(page.locator(".probabilities .predicted span").first).to_have_text(str(digit))
    expect(page.get_by_text("What the model sees")).to_be_visible()
    facts = re.compile(rf"InferenceService {cnn_deployed} · round trip \d+ ms")
    expect(page.get_by_text(facts)).to_be_visible()
    page.screenshot(path=artifacts_dir / f"app-draw-{digit}.png")


def test_draw_page_clear_button_empties_canvas(page: Page, app_url: str, cnn_deployed: str) -> None:
    canvas = open_draw_page(page, app_url)
    draw(page, canvas, DIGIT_STROKES[1])
    expect(answer_of(page, cnn_deployed)).to_have_text("1")
    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_text("Deployed and waiting for your drawing")).to_be_visible()
    expect(answer_of(page, cnn_deployed)).to_have_count(0)
    assert not shown_pixels(canvas)[..., :3].any()  # black all over


def test_draw_page_answers_name_the_drawing_they_are_for(
    page: Page, app_url: str, cnn_deployed: str
) -> None:
    """`data-drawing` is the canvas generation (one more per Clear) and its stroke count."""
    canvas = drawn(page, app_url, DIGIT_STROKES[4], cnn_deployed)
    expect(page.locator(".probabilities")).to_have_attribute("data-drawing", "0-2")
    page.get_by_role("button", name="Clear").click()
    expect(page.get_by_text("Deployed and waiting for your drawing")).to_be_visible()
    draw(page, canvas, DIGIT_STROKES[7])
    expect(answer_of(page, cnn_deployed)).to_have_attribute("data-drawing", "1-1")
    expect(answer_of(page, cnn_deployed)).to_have_text("7")


def test_draw_page_compares_deployed_models_side_by_side(
    page: Page, app_url: str, cnn_deployed: str, dense_deployed: str, artifacts_dir: Path
) -> None:
    canvas = open_draw_page(page, app_url)
    expect(page.get_by_text("MNIST v1 · mnist-v1")).to_be_visible()
    draw(page, canvas, DIGIT_STROKES[3])
    expect(answer_of(page, cnn_deployed)).to_have_text("3")
    expect(answer_of(page, dense_deployed)).to_have_text("3")
    expect(page.locator(".predicted-digit")).to_have_count(2)
    page.wait_for_timeout(1500)  # let the page settle before the picture
    page.screenshot(path=artifacts_dir / "app-draw-page.png")


def service_row(page: Page, service: str) -> Locator:
    return page.locator("[class*='st-key-service-']").filter(has_text=service)


def screenshot_from_top(page: Page, path: Path) -> None:
    """A tall picture of the page from its title down (Streamlit scrolls inside its main area)."""
    page.set_viewport_size({"width": 1300, "height": 1500})
    page.locator("h1").first.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=path)


def test_registry_page_deploys_and_undeploys_version(
    page: Page,
    app_url: str,
    app_stack: RunningStack,
    published_models: dict[str, Any],
    artifacts_dir: Path,
) -> None:
    page.goto(f"{app_url}/registry")
    page.get_by_text(re.compile(r"^MNIST v1 \(version id \d+\)$")).click()
    page.get_by_role("button", name="Deploy v1").click()
    expect(page.get_by_role("button", name="Deploy v1")).to_be_disabled()
    # the service's status beside the button too, not only in the cards up top
    expect(page.get_by_text("mnist-v1: serving", exact=True)).to_be_visible()
    row = service_row(page, "mnist-v1")
    expect(row.get_by_text("serving", exact=True)).to_be_visible()
    expect(row.get_by_text("desired DEPLOYED · observed RUNNING")).to_be_visible()
    expect(row.get_by_text(f"{app_stack.serving_url}/v2/models/mnist-v1")).to_be_visible()
    wait_until_ready(app_stack.serving_url, "mnist-v1")
    screenshot_from_top(page, artifacts_dir / "app-registry-deployed.png")

    row.get_by_role("button", name="Undeploy").click()
    expect(row.get_by_text("undeployed", exact=True)).to_be_visible()
    expect(row.get_by_text("desired UNDEPLOYED · observed COMPLETE")).to_be_visible()
    wait_until_ready(app_stack.serving_url, "mnist-v1", ready=False)
    expect(page.get_by_role("button", name="Deploy v1")).to_be_enabled()
    screenshot_from_top(page, artifacts_dir / "app-registry-page.png")


def test_registry_page_shows_artifact_dependencies(
    page: Page, app_url: str, published_models: dict[str, Any]
) -> None:
    page.goto(f"{app_url}/registry")
    newest = page.locator("[data-testid='stExpander']").first
    expect(newest.get_by_text("s3://models/MNIST/v2/model.onnx")).to_be_visible()
    for heading in ("Metrics", "Dependencies", "Integrity"):
        expect(newest.get_by_text(heading, exact=True).first).to_be_visible()  # version, artifacts
    expect(newest.get_by_text("test_accuracy")).to_be_visible()
    requirements = newest.locator("pre").filter(has_text=re.compile(r"tensorflow==\d"))
    expect(requirements).to_be_visible()


@pytest.fixture
def app_without_registry(tmp_path: Path) -> Iterator[str]:
    """The app pointed at a port where no registry listens."""
    with running_app(tmp_path, f"http://127.0.0.1:{free_port()}", "app-no-registry") as url:
        yield url


def test_draw_page_explains_registry_down(page: Page, app_without_registry: str) -> None:
    open_draw_page(page, app_without_registry)
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("is not answering; start it with make registry")
    expect(page.get_by_text("Traceback")).to_have_count(0)


@pytest.fixture
def app_with_nothing_deployed(tmp_path: Path, registry_server: Any) -> Iterator[str]:
    """The app reading a registry whose `local` environment has no InferenceService."""
    environments = f"{registry_server.url}/api/model_registry/v1alpha3/serving_environments"
    httpx.post(environments, json={"name": "local"}).raise_for_status()
    with running_app(tmp_path, registry_server.url, "app-nothing-deployed") as url:
        yield url


def test_draw_page_explains_nothing_deployed(page: Page, app_with_nothing_deployed: str) -> None:
    open_draw_page(page, app_with_nothing_deployed)
    expect(page.get_by_role("alert")).to_contain_text(
        "No model is deployed in serving environment 'local'"
    )
