"""What the digit canvas reports, read and checked, and turned into the models' input.

The canvas (app/frontend/digit_canvas.js) reports a drawing as its strokes, each a flat list
of integer canvas points `[x0, y0, x1, y1, ...]`, never as pixels. `strokes_to_mnist` is the
one way from strokes to the 28×28 image the models get: `canvas_rgba` paints them with the
canvas's own pen (white, 18 px, round ends and joins) on a black 280×280 field, and
`canvas_to_mnist` makes MNIST's picture of that. A `CanvasDrawing` carries its own `image`.
Pure numpy and Pillow: the tests import it without Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np
from PIL import Image, ImageDraw

from app.errors import DrawingUnreadable
from app.preprocess import canvas_to_mnist

CANVAS_SIZE = 280
PEN_WIDTH = 18
MAX_STROKES = 100
MAX_POINTS = 20_000
"""Bounds on what one drawing may hold (a digit has a few strokes of a few hundred points)."""

Point = tuple[int, int]
Strokes = tuple[tuple[Point, ...], ...]
Pen = Literal["up", "down"]


@dataclass(frozen=True)
class CanvasDrawing:
    """One drawing as the canvas reported it."""

    seq: int
    """Rises with every report of the page: a later drawing has a larger one (`data-seq`)."""
    generation: int
    """One more with every Clear."""
    pen: Pen
    """"down" while a stroke is being drawn (a live report), "up" once it has ended."""
    strokes: Strokes

    @property
    def key(self) -> str:
        """`<generation>-<strokes>` once the pen is up; while a stroke is being drawn (its
        strokes counting the one in progress) `<generation>-<strokes>~<seq>`, so that each
        live report has a key of its own. Each answer carries it (`data-drawing`), so a page
        reader knows which drawing an answer is for."""
        key = f"{self.generation}-{len(self.strokes)}"
        return key if self.pen == "up" else f"{key}~{self.seq}"

    @cached_property
    def image(self) -> np.ndarray | None:
        """The 28×28 model input (`strokes_to_mnist`), made once; None when nothing is drawn."""
        return strokes_to_mnist(self.strokes)


def read_drawing(value: object) -> CanvasDrawing | None:
    """The drawing in the canvas's state value (None before anything was reported);
    DrawingUnreadable for anything the canvas would not have sent."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise DrawingUnreadable(f"expected an object, got {type(value).__name__}")
    pen = value.get("pen")
    if pen not in ("up", "down"):
        raise DrawingUnreadable(f"pen must be 'up' or 'down', got {str(pen)[:20]!r}")
    seq, generation = _count(value, "seq"), _count(value, "generation")
    return CanvasDrawing(seq, generation, pen, read_strokes(value.get("strokes")))


def read_strokes(value: object) -> Strokes:
    """Strokes as point tuples from flat `[x0, y0, x1, y1, ...]` lists, within the bounds."""
    if not isinstance(value, list) or len(value) > MAX_STROKES:
        raise DrawingUnreadable(f"strokes must be a list of at most {MAX_STROKES} strokes")
    if sum(len(stroke) for stroke in value if isinstance(stroke, list)) > 2 * MAX_POINTS:
        raise DrawingUnreadable(f"a drawing holds at most {MAX_POINTS} points")
    return tuple(_stroke(stroke) for stroke in value)


def _stroke(value: object) -> tuple[Point, ...]:
    if not isinstance(value, list) or not value or len(value) % 2:
        raise DrawingUnreadable("each stroke must be a non-empty flat list of x, y pairs")
    if not all(type(v) is int and -CANVAS_SIZE <= v <= 2 * CANVAS_SIZE for v in value):
        raise DrawingUnreadable("stroke points must be whole canvas pixels near the canvas")
    return tuple(zip(value[::2], value[1::2], strict=True))


def _count(drawing: dict, name: str) -> int:
    value = drawing.get(name)
    if type(value) is not int or value < 0:
        raise DrawingUnreadable(f"{name} must be a whole number from 0")
    return value


def strokes_to_mnist(strokes: Strokes) -> np.ndarray | None:
    """The strokes as the float32 28×28 MNIST image the models get; None without strokes."""
    return canvas_to_mnist(canvas_rgba(strokes)) if strokes else None


def canvas_rgba(strokes: Strokes) -> np.ndarray:
    """The 280×280 RGBA pixels of the strokes painted as the canvas paints them."""
    image = Image.new("RGBA", (CANVAS_SIZE, CANVAS_SIZE), (0, 0, 0, 255))
    pen = ImageDraw.Draw(image)
    radius = PEN_WIDTH / 2
    for stroke in strokes:
        if len(stroke) > 1:
            pen.line(stroke, fill="white", width=PEN_WIDTH, joint="curve")
        for x, y in {stroke[0], stroke[-1]}:  # round ends (joins are rounded by the line)
            pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill="white")
    return np.asarray(image)
