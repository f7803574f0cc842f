"""Drive the app's draw page in Debian's Chromium the way a person does, with the mouse.

Shared by the browser tests and `scripts/bench_app.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from app_stack import CHROMIUM, CHROMIUM_ARGS, Stroke
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium (never Playwright's download), for the block."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


CANVAS = "canvas.digit-canvas, canvas.upper-canvas"
"""The drawing surface: the app's digit canvas, or (in an older revision a benchmark may
measure) streamlit-drawable-canvas's fabric.js upper canvas."""


def open_draw_page(page: Page, app_url: str) -> Locator:
    """The drawing surface of a freshly loaded draw page."""
    page.goto(app_url)
    canvas = page.locator(CANVAS)
    expect(canvas).to_be_visible()
    return canvas


def draw_stroke(page: Page, canvas: Locator, stroke: Stroke) -> None:
    """One mouse stroke through the given canvas points, 8 moves per segment."""
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
    page.mouse.down()
    for (x0, y0), (x1, y1) in zip(stroke, stroke[1:], strict=False):
        for step in range(1, 9):
            t = step / 8
            page.mouse.move(box["x"] + x0 + (x1 - x0) * t, box["y"] + y0 + (y1 - y0) * t)
    page.mouse.up()


def draw(page: Page, canvas: Locator, strokes: list[Stroke]) -> None:
    """Mouse strokes through the given canvas points, one after the other."""
    for stroke in strokes:
        draw_stroke(page, canvas, stroke)


def answer_of(page: Page, service: str) -> Locator:
    """The large predicted digit of one InferenceService's answer."""
    return page.locator(f'.predicted-digit[data-service="{service}"]')
