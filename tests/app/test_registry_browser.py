"""The Registry page's compare, model card, archive/restore and clean-up views in Chromium.

The real stack of tests/app/conftest.py (registry_local, SeaweedFS, the inference server,
the controller, MNIST v1 and v2 trained and published by the training code, the CNN deployed
as `mnist-e2e`). Each test leaves the registry as it found it. Screenshots go to
test-artifacts/ (the README's come from there).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from contracts.s3 import s3_client
from stack.seaweed import S3Settings
from tests.app.app_stack import API, REPO, RunningStack

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]


def registry_api(stack: RunningStack) -> httpx.Client:
    return httpx.Client(base_url=stack.registry_url + API, timeout=10)


def version_ids(stack: RunningStack, model: str = "MNIST") -> dict[str, str]:
    with registry_api(stack) as http:
        found = http.get("/registered_model", params={"name": model}).json()
        items = http.get(f"/registered_models/{found['id']}/versions").json()["items"]
    return {item["name"]: str(item["id"]) for item in items}


def set_state(stack: RunningStack, version_id: str, state: str) -> None:
    with registry_api(stack) as http:
        http.patch(f"/model_versions/{version_id}", json={"state": state}).raise_for_status()


def open_registry(page: Page, app_url: str, tab: str = "Versions") -> None:
    page.goto(f"{app_url}/registry")
    page.get_by_role("tab", name=tab).click()


def version_expander(page: Page, name: str, model: str = "MNIST") -> Locator:
    return page.get_by_text(re.compile(rf"^{model} {name} \(version id \d+\)$"))


def open_version(page: Page, name: str, model: str = "MNIST") -> None:
    """Expand a version's section unless it is open already (the newest one starts open), so
    a click never closes it; a collapsed section's content is `inert`."""
    title = version_expander(page, name, model)
    details = (
        page.get_by_test_id("stExpander").filter(has=title).get_by_test_id("stExpanderDetails")
    )
    expect(title).to_be_visible()
    if details.get_attribute("inert") is not None:
        title.click()
    expect(details).not_to_have_attribute("inert", "")


def table_row(scope: Locator, label: str) -> Locator:
    return scope.locator("tr").filter(has=scope.page.get_by_role("cell", name=label, exact=True))


def screenshot_tall(page: Page, path: Path, height: int = 2200) -> None:
    page.set_viewport_size({"width": 1300, "height": height})
    page.wait_for_timeout(1500)  # let the charts draw before the picture
    page.screenshot(path=path)


def test_registry_page_compares_the_deployed_version_with_another(
    page: Page, app_url: str, cnn_deployed: str, published_models: dict[str, Any],
    artifacts_dir: Path,
) -> None:  # fmt: skip
    open_registry(page, app_url, "Compare")
    compare = page.locator(".st-key-compare")
    # v2 is deployed and the newest: the one before it (v1) is A, v2 is B
    expect(compare.get_by_role("columnheader", name="A: v1").first).to_be_visible()
    expect(compare.get_by_role("columnheader", name="B: v2").first).to_be_visible()
    expect(table_row(compare, "test accuracy")).to_contain_text("changed")
    for same in ("ONNX opset", "ONNX IR version", "tensorflow", "onnxruntime", "tf2onnx"):
        expect(table_row(compare, same)).to_contain_text("same")
    expect(table_row(compare, "model sha256")).to_contain_text("changed")
    expect(table_row(compare, "model kind")).to_contain_text("dense")
    expect(table_row(compare, "model kind")).to_contain_text("cnn")
    expect(compare.locator("[data-testid='stVegaLiteChart']")).to_have_count(
        3
    )  # digits, 2 heatmaps
    expect(compare.get_by_text("no confusion matrix recorded")).to_have_count(0)
    screenshot_tall(page, artifacts_dir / "app-registry-compare.png", 2600)


@pytest.fixture
def hand_written_readme(app_stack: RunningStack, published_models: dict[str, Any]) -> Iterator[str]:
    """MNIST's readme with hand-written HTML and script above the card publishing wrote;
    the readme as it was is put back afterwards."""
    with registry_api(app_stack) as http:
        model = http.get("/registered_model", params={"name": "MNIST"}).json()
        hostile = (
            '<script>window.__owned = 1</script>\n\n<img src="x" onerror="window.__owned = 2">'
            "\n\n**Hand-written:** ask the workshop team before deploying.\n\n"
        )
        path = f"/registered_models/{model['id']}"
        http.patch(path, json={"readme": hostile + model["readme"]}).raise_for_status()
        yield model["readme"]
        http.patch(path, json={"readme": model["readme"]}).raise_for_status()


def test_registry_page_renders_the_model_card_as_markdown_only(
    page: Page, app_url: str, hand_written_readme: str, artifacts_dir: Path
) -> None:
    assert "model-card:begin" in hand_written_readme  # publishing wrote the card
    open_registry(page, app_url, "Model card")
    card = page.get_by_role("tabpanel", name="Model card")
    expect(card.get_by_role("heading", name="MNIST: handwritten digit classifier")).to_be_visible()
    for heading in ("Data", "Versions", "Intended use and limitations", "How to deploy"):
        expect(card.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(card.get_by_text(re.compile(r"^v2 \(version id \d+, state LIVE\)$"))).to_be_visible()
    expect(card.get_by_text("Hand-written:")).to_be_visible()
    expect(card.get_by_text("<script>window.__owned = 1</script>")).to_be_visible()  # as text
    expect(card.get_by_text("model-card:begin")).to_have_count(0)
    expect(card.locator("script, img[src='x']")).to_have_count(0)
    assert page.evaluate("window.__owned") is None
    screenshot_tall(page, artifacts_dir / "app-registry-card.png", 2400)


@pytest.fixture
def v1_live_afterwards(app_stack: RunningStack, published_models: dict[str, Any]) -> Iterator[str]:
    """MNIST v1's id; whatever the test does, v1 is LIVE again after it."""
    version_id = version_ids(app_stack)["v1"]
    yield version_id
    set_state(app_stack, version_id, "LIVE")


def test_registry_page_archives_hides_and_restores_a_version(
    page: Page, app_url: str, cnn_deployed: str, v1_live_afterwards: str
) -> None:
    open_registry(page, app_url)
    open_version(page, "v2")
    expect(page.get_by_role("button", name="Archive v2")).to_be_disabled()  # mnist-e2e serves it
    open_version(page, "v1")
    page.get_by_role("button", name="Archive v1").click()
    expect(page.get_by_text("MNIST v1 is now ARCHIVED.").first).to_be_visible()
    expect(version_expander(page, "v1")).to_have_count(0)
    expect(page.get_by_text("1 archived version hidden.")).to_be_visible()

    page.get_by_text("Show archived versions", exact=True).click()
    open_version(page, "v1")
    expect(page.get_by_text("archived", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Deploy v1")).to_be_disabled()
    page.get_by_role("button", name="Restore v1").click()
    expect(page.get_by_text("MNIST v1 is now LIVE.").first).to_be_visible()
    page.get_by_text("Show archived versions", exact=True).click()
    expect(version_expander(page, "v1")).to_be_visible()


def test_registry_page_refuses_to_deploy_a_version_archived_meanwhile(
    page: Page, app_url: str, app_stack: RunningStack, v1_live_afterwards: str
) -> None:
    open_registry(page, app_url)
    open_version(page, "v1")
    deploy = page.get_by_role("button", name="Deploy v1")
    expect(deploy).to_be_enabled()
    set_state(app_stack, v1_live_afterwards, "ARCHIVED")  # elsewhere, after the page was read
    deploy.click()
    alert = page.get_by_role("alert").filter(has_text="is archived and cannot be deployed")
    expect(alert.first).to_contain_text("MNIST v1 is archived and cannot be deployed")
    with registry_api(app_stack) as http:
        services = http.get("/inference_services").json()["items"]
    assert not [s for s in services if s.get("modelVersionId") == v1_live_afterwards
                and s.get("desiredState") == "DEPLOYED"]  # fmt: skip


@pytest.fixture
def cleaned_up_model(app_stack: RunningStack, s3_server: S3Settings) -> str:
    """MNIST-old v1: uploaded, registered, ARCHIVED, then cleaned up by training.cleanup."""
    bucket = s3_server.bucket
    s3_client(s3_server).put_object(Bucket=bucket, Key="MNIST-old/v1/model.onnx", Body=b"x")
    with registry_api(app_stack) as http:
        model = http.post("/registered_models", json={"name": "MNIST-old"}).json()
        body = {"name": "v1", "registeredModelId": model["id"]}
        version = http.post(f"/registered_models/{model['id']}/versions", json=body).json()
        artifact = {"artifactType": "model-artifact", "name": "MNIST-old",
                    "uri": f"s3://{bucket}/MNIST-old/v1/model.onnx"}  # fmt: skip
        http.post(f"/model_versions/{version['id']}/artifacts", json=artifact).raise_for_status()
        http.patch(f"/model_versions/{version['id']}", json={"state": "ARCHIVED"})
    env = {**os.environ, **s3_server.as_env(), "MODEL_REGISTRY_URL": app_stack.registry_url}
    done = subprocess.run([sys.executable, "-m", "training.cleanup", "--yes"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "deleted MNIST-old v1 artifact MNIST-old" in done.stdout
    return f"MNIST-old (id {model['id']})"


def test_registry_page_shows_a_cleaned_up_version_as_artifacts_deleted(
    page: Page, app_url: str, cleaned_up_model: str
) -> None:
    open_registry(page, app_url)
    page.get_by_role("combobox", name="Model").click()  # Streamlit's selectbox
    page.get_by_role("option", name=cleaned_up_model).click()
    # the toggle is per model: click it only once the chosen model's page has replaced MNIST's
    expect(page.get_by_text("1 archived version hidden.")).to_be_visible()
    page.get_by_text("Show archived versions", exact=True).click()
    open_version(page, "v1", "MNIST-old")
    expect(page.get_by_text("artifacts deleted", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Deploy v1")).to_be_disabled()
    expect(page.get_by_role("cell", name="bytes_deleted_at", exact=True)).to_be_visible()
