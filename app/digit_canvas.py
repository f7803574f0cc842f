"""The digit canvas: a Streamlit component written for this app (components v2, no iframe).

Its HTML, CSS and JavaScript are the three files in app/frontend/, shipped with the package
and handed to Streamlit inline (no build step, nothing fetched at run time). The contract:

- canvas → Python, the state value `drawing` (app.drawing reads it): `{seq, generation, pen,
  strokes}`, reported at once when a stroke ends and on Undo and Clear (`pen: "up"`), and
  while a stroke is drawn every 100 ms (`pen: "down"`; not while the pen rests), the next one
  only once the last was answered (or 1 s later). Each report reruns the page.
- Python → canvas, `data`: `{answered: seq, retry: bool}`, mounted after the answers: which
  drawing the page has just answered, and whether that answer was a problem (the canvas
  then reports its drawing again 1.5 s later, until the answer is no problem).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import streamlit as st

from app.drawing import CanvasDrawing, read_drawing

FRONTEND = Path(__file__).with_name("frontend")
COMPONENT = "mnist_demo.digit_canvas"


@cache
def _component() -> Any:
    """The registered component (once per process)."""
    return st.components.v2.component(
        COMPONENT,
        html=(FRONTEND / "digit_canvas.html").read_text(),
        css=(FRONTEND / "digit_canvas.css").read_text(),
        js=(FRONTEND / "digit_canvas.js").read_text(),
    )


def reported_drawing(key: str) -> CanvasDrawing | None:
    """The drawing the canvas `key` reported last (None before it reported one).

    Read from the session before the canvas is mounted, so that the canvas can be mounted
    after the answers, with the news of what was answered."""
    state = st.session_state.get(key)
    return read_drawing(state.get("drawing") if state else None)


def digit_canvas(key: str, answered: int, retry: bool) -> None:
    """Mount the canvas: it now knows drawing `answered` was answered, and whether to retry."""
    _component()(
        key=key,
        data={"answered": answered, "retry": retry},
        on_drawing_change=_drawing_changed,
        width="content",
    )


def _drawing_changed() -> None:
    """Nothing to do: the rerun a report causes reads the drawing (a state value needs a
    callback to exist)."""
