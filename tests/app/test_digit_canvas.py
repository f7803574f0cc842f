"""The digit canvas in Debian's Chromium: Undo, live answers while drawing, touch, its pixels;
and the largest message the app takes from a browser.

Real mouse and touch input on the draw page of the app under `streamlit run`, against the
real stack (tests/app/conftest.py). Drawing and recognition of whole digits, Clear and the
`data-drawing` keys are in test_browser.py.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import Page, expect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.drawing import canvas_rgba
from app.preprocess import canvas_to_mnist
from tests.app.app_stack import DIGIT_STROKES
from tests.app.draw_page_driver import (
    Pace,
    answer_of,
    draw,
    drawn,
    open_draw_page,
    shown_pixels,
    stroke_moves,
    touch_stroke,
)

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.slow]

ANSWER_LOG = """
window.__answers = [];
addEventListener("pointerup", (e) => (window.__penUp = e.timeStamp), true);
addEventListener("pointermove", (e) => (window.__lastMove = e.timeStamp), true);
new MutationObserver(() => {
  const shown = [...document.querySelectorAll(".predicted-digit")]
    .map((answer) => [answer.dataset.drawing, Number(answer.dataset.seq)]);
  const last = window.__answers.at(-1);
  if (JSON.stringify(last?.[1]) !== JSON.stringify(shown))
    window.__answers.push([performance.now(), shown]);
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
"""Records, in the page's clock, every change of the answers shown: [(time, [(key, seq)])];
and when the pen last moved and was lifted."""


def test_draw_page_answers_while_a_stroke_is_drawn_newest_last(
    page: Page, app_url: str, cnn_deployed: str
) -> None:
    page.add_init_script(ANSWER_LOG)
    canvas = open_draw_page(page, app_url)
    draw(page, canvas, DIGIT_STROKES[0], Pace(speed=250, rate=50))  # about 2 s
    expect(answer_of(page, cnn_deployed)).to_have_attribute("data-drawing", "0-1")
    expect(answer_of(page, cnn_deployed)).to_have_text("0")
    log, pen_up = page.evaluate("[window.__answers, window.__penUp]")
    shown = [answers for _, answers in log if answers]
    assert all(len(answers) == 1 for answers in shown), shown  # one answer, updated in place
    live = [answers[0][0] for time, answers in log if answers and time < pen_up]
    assert len(live) >= 3, log
    assert all(re.fullmatch(r"0-1~\d+", key) for key in live), live
    seqs = [answers[0][1] for answers in shown]
    assert seqs == sorted(seqs), seqs  # never an older drawing's answer after a newer one


def test_draw_page_reruns_nothing_while_the_pen_rests(
    page: Page, app_url: str, cnn_deployed: str
) -> None:
    """A live report carries new points: while the pen rests on the canvas mid-stroke, the
    page is not rerun ten times a second for the same drawing. At most two answers come after
    the last move: the report in flight, and the one with the points drawn since."""
    page.add_init_script(ANSWER_LOG)
    box = open_draw_page(page, app_url).bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 140, box["y"] + 40)
    page.mouse.down()
    for y in range(46, 241, 6):
        page.mouse.move(box["x"] + 140, box["y"] + y)
    page.wait_for_timeout(1500)  # the pen rests on the canvas
    page.mouse.up()
    expect(answer_of(page, cnn_deployed)).to_have_attribute("data-drawing", "0-1")
    expect(answer_of(page, cnn_deployed)).to_have_text("1")
    log, last_move = page.evaluate("[window.__answers, window.__lastMove]")
    resting = {seq for time, answers in log for key, seq in answers
               if time > last_move and "~" in key}  # fmt: skip
    assert len(resting) <= 2, log


def test_draw_page_undo_takes_back_the_last_stroke(
    page: Page, app_url: str, cnn_deployed: str
) -> None:
    canvas = drawn(page, app_url, DIGIT_STROKES[4], cnn_deployed)
    expect(page.get_by_role("img", name=re.compile("^Drawing area"))).to_be_visible()
    expect(answer_of(page, cnn_deployed)).to_have_text("4")
    undo = page.get_by_role("button", name="Undo")
    stem = (slice(200, 240), slice(170, 181))  # the 4's second stroke, below its bar
    assert shown_pixels(canvas)[stem].any()

    undo.click()
    expect(answer_of(page, cnn_deployed)).to_have_attribute("data-drawing", "0-1")
    pixels = shown_pixels(canvas)
    assert not pixels[stem][..., :3].any()
    assert pixels[..., :3].any()  # the first stroke stays
    undo.click()
    expect(page.get_by_text("Deployed and waiting for your drawing")).to_be_visible()
    expect(undo).to_be_disabled()
    assert not shown_pixels(canvas)[..., :3].any()


def test_draw_page_takes_a_finger(touch_page: Page, app_url: str, cnn_deployed: str) -> None:
    canvas = open_draw_page(touch_page, app_url)
    for stroke in DIGIT_STROKES[7]:
        touch_stroke(touch_page, canvas, stroke)
    expect(answer_of(touch_page, cnn_deployed)).to_have_attribute("data-drawing", "0-1")
    expect(answer_of(touch_page, cnn_deployed)).to_have_text("7")


def test_draw_page_takes_a_stroke_that_leaves_the_canvas(
    page: Page, app_url: str, cnn_deployed: str
) -> None:
    """The canvas keeps the pointer: a 1 whose stroke runs out below the canvas and on far
    to the right (past where app.drawing reads points) is still a 1, not an unreadable drawing."""
    canvas = open_draw_page(page, app_url)
    draw(page, canvas, [[(150, 40), (130, 245), (130, 290), (620, 290)]])
    answer = answer_of(page, cnn_deployed)
    expect(answer.or_(page.get_by_role("alert"))).to_be_visible()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(answer).to_have_attribute("data-drawing", "0-1")
    expect(answer).to_have_text("1")


def test_canvas_shows_what_the_models_are_given(
    page: Page, app_url: str, cnn_deployed: str
) -> None:
    """The strokes the canvas reports, painted by app.drawing, are the pixels it shows."""
    shown = shown_pixels(drawn(page, app_url, DIGIT_STROKES[3], cnn_deployed))
    strokes = tuple(
        tuple((round(x), round(y)) for x, y in stroke_moves(stroke, None))
        for stroke in DIGIT_STROKES[3]
    )
    painted = canvas_rgba(strokes)
    assert shown.shape == painted.shape == (280, 280, 4)
    assert (shown[..., 3] == 255).all()  # opaque: white on black, like the painted one
    ink_shown, ink_painted = shown[..., 0] >= 128, painted[..., 0] >= 128
    overlap = (ink_shown & ink_painted).sum() / (ink_shown | ink_painted).sum()
    assert overlap >= 0.9, overlap
    seen, given = canvas_to_mnist(shown), canvas_to_mnist(painted)
    assert seen is not None, "the canvas showed no ink"
    assert given is not None, "app.drawing painted no ink"
    difference = np.abs(seen - given)
    assert difference.mean() < 0.03, difference.mean()


def closing_code(stream_url: str, size: int) -> int | None:
    """The code the app closes its WebSocket with after one binary message of `size` bytes."""
    with connect(stream_url, max_size=None, open_timeout=30) as stream:
        stream.send(bytes(size))
        try:
            while True:  # until the app closes it (TimeoutError if it does not)
                stream.recv(timeout=30)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None


def test_app_refuses_a_message_larger_than_any_drawing(app_url: str) -> None:
    """A browser may send at most 1 MB (server.maxWidgetStateSize in app/.streamlit/config.toml;
    app/drawing.py's largest drawing is about 0.2 MB): Streamlit closes the connection before
    it reads more. Below the bound the message is read (and, being no Streamlit message,
    refused as a protocol error)."""
    stream_url = app_url.replace("http", "ws", 1) + "/_stcore/stream"
    assert closing_code(stream_url, 1_100_000) == 1009  # message too big
    assert closing_code(stream_url, 900_000) == 1002  # protocol error
