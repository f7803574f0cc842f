"""Drive the app's draw page in Debian's Chromium the way a person does, with the mouse or
a finger.

Shared by the browser tests and `bench.app`.
"""

from __future__ import annotations

import base64
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from itertools import pairwise
from typing import Any

import numpy as np
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.app.app_stack import CHROMIUM, CHROMIUM_ARGS, Stroke


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium (never Playwright's download), for the block."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


BROWSER_TIMEOUT = 60_000
"""ms for page loads and assertions: the machine is shared, a Streamlit rerun may wait for CPU."""


@contextmanager
def new_page(browser: Browser, **context_options: Any) -> Iterator[Page]:
    """A page in a context of its own (1300×1100), closed after the block."""
    context = browser.new_context(viewport={"width": 1300, "height": 1100}, **context_options)
    page = context.new_page()
    page.set_default_timeout(BROWSER_TIMEOUT)
    expect.set_options(timeout=BROWSER_TIMEOUT)
    yield page
    context.close()


CANVAS = "canvas.digit-canvas, canvas.upper-canvas"
"""The drawing surface: the app's digit canvas, or (in an older revision a benchmark may
measure) streamlit-drawable-canvas's fabric.js upper canvas."""


def open_draw_page(page: Page, app_url: str) -> Locator:
    """The drawing surface of a freshly loaded draw page."""
    page.goto(app_url)
    canvas = page.locator(CANVAS)
    expect(canvas).to_be_visible()
    return canvas


MOVE_SPACING = 6.0
"""px between mouse moves when drawing as fast as the browser takes them."""


@dataclass(frozen=True)
class Pace:
    """Drawing at a person's pace: `speed` canvas px per second, `rate` mouse moves a second."""

    speed: float
    rate: float


def draw_stroke(page: Page, canvas: Locator, stroke: Stroke, pace: Pace | None = None) -> None:
    """One mouse stroke through the given canvas points: as fast as the browser takes the
    moves, or at `pace`."""
    box = canvas.bounding_box()
    assert box is not None
    points = [(box["x"] + x, box["y"] + y) for x, y in stroke_moves(stroke, pace)]
    page.mouse.move(*points[0])
    page.mouse.down()
    started = time.perf_counter()
    for index, point in enumerate(points[1:], start=1):
        if pace is not None:
            time.sleep(max(0.0, started + index / pace.rate - time.perf_counter()))
        page.mouse.move(*point)
    page.mouse.up()


def stroke_moves(stroke: Stroke, pace: Pace | None) -> Stroke:
    """Where the mouse goes along a stroke: every MOVE_SPACING px, or every
    `pace.speed / pace.rate` px."""
    return resampled(stroke, MOVE_SPACING if pace is None else pace.speed / pace.rate)


def resampled(stroke: Stroke, spacing: float) -> Stroke:
    """Points every `spacing` px along the polyline, and its end."""
    points, carried = [stroke[0]], 0.0
    for (x0, y0), (x1, y1) in pairwise(stroke):
        length = math.hypot(x1 - x0, y1 - y0)
        position = spacing - carried
        while position <= length:
            points.append((x0 + (x1 - x0) * position / length, y0 + (y1 - y0) * position / length))
            position += spacing
        carried = length - (position - spacing)
    return [*points, stroke[-1]] if points[-1] != stroke[-1] else points


def draw(page: Page, canvas: Locator, strokes: list[Stroke], pace: Pace | None = None) -> None:
    """Mouse strokes through the given canvas points, one after the other."""
    for stroke in strokes:
        draw_stroke(page, canvas, stroke, pace)


def drawn(page: Page, app_url: str, strokes: list[Stroke], service: str) -> Locator:
    """A freshly loaded draw page with `strokes` drawn and `service`'s answer to all of them
    on screen; its canvas."""
    canvas = open_draw_page(page, app_url)
    draw(page, canvas, strokes)
    expect(answer_of(page, service)).to_have_attribute("data-drawing", f"0-{len(strokes)}")
    return canvas


def answer_of(page: Page, service: str) -> Locator:
    """The large predicted digit of one InferenceService's answer."""
    return page.locator(f'.predicted-digit[data-service="{service}"]')


def touch_stroke(page: Page, canvas: Locator, stroke: Stroke) -> None:
    """One finger stroke through the given canvas points, as Chromium's touchscreen input
    (the page's context needs `has_touch=True`)."""
    box = canvas.bounding_box()
    assert box is not None
    session = page.context.new_cdp_session(page)
    points = [(box["x"] + x, box["y"] + y) for x, y in stroke_moves(stroke, None)]
    for index, (x, y) in enumerate(points):
        kind = "touchStart" if index == 0 else "touchMove"
        session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y}]})
    session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    session.detach()


def shown_pixels(canvas: Locator) -> np.ndarray:
    """The pixels the canvas shows, as an H×W×4 uint8 array."""
    data_url = canvas.evaluate("canvas => canvas.toDataURL('image/png')")
    png = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(BytesIO(png)).convert("RGBA"))
