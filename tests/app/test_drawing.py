"""Reading what the digit canvas reports, and painting its strokes back into pixels."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.drawing import (
    CANVAS_SIZE,
    MAX_POINTS,
    MAX_STROKES,
    PEN_WIDTH,
    CanvasDrawing,
    canvas_rgba,
    read_drawing,
    strokes_to_mnist,
)
from app.errors import DrawingUnreadable
from app.preprocess import canvas_to_mnist

SEVEN = [[70, 60, 210, 60, 120, 235]]


def report(**changes: Any) -> dict[str, Any]:
    """A report as the canvas sends it: a 7 after its stroke ended."""
    return {"seq": 12, "generation": 3, "pen": "up", "strokes": SEVEN, **changes}


def test_read_drawing_takes_the_canvas_report() -> None:
    drawing = read_drawing(report())
    assert drawing == CanvasDrawing(12, 3, "up", (((70, 60), (210, 60), (120, 235)),))
    assert drawing.key == "3-1"


def test_read_drawing_before_any_report_is_none() -> None:
    assert read_drawing(None) is None


def test_drawing_key_of_a_stroke_in_progress_names_its_report() -> None:
    drawing = read_drawing(report(pen="down", seq=40, strokes=[[1, 2], [3, 4, 5, 6]]))
    assert drawing is not None
    assert drawing.key == "3-2~40"


def test_drawing_key_of_a_cleared_canvas() -> None:
    drawing = read_drawing(report(strokes=[], generation=4))
    assert drawing is not None
    assert drawing.key == "4-0"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ([1, 2], "expected an object, got list"),
        (report(pen="sideways"), "pen must be 'up' or 'down'"),
        (report(seq=-1), "seq must be a whole number from 0"),
        (report(seq="7"), "seq must be a whole number from 0"),
        (report(generation=True), "generation must be a whole number from 0"),
        (report(strokes="70,60"), "strokes must be a list of at most"),
        (report(strokes=[[1, 2]] * (MAX_STROKES + 1)), "strokes must be a list of at most"),
        (report(strokes=[[1, 2] * (MAX_POINTS + 1)]), f"at most {MAX_POINTS} points"),
        (report(strokes=[[]]), "non-empty flat list of x, y pairs"),
        (report(strokes=[[1, 2, 3]]), "non-empty flat list of x, y pairs"),
        (report(strokes=[[1.5, 2]]), "whole canvas pixels near the canvas"),
        (report(strokes=[[1, 10**9]]), "whole canvas pixels near the canvas"),
    ],
)
def test_read_drawing_rejects_what_the_canvas_never_sends(value: object, problem: str) -> None:
    with pytest.raises(DrawingUnreadable, match="^The drawing could not be read") as caught:
        read_drawing(value)
    assert problem in str(caught.value)
    assert str(caught.value).endswith("; press Clear and draw again.")


def test_canvas_rgba_paints_white_on_opaque_black() -> None:
    pixels = canvas_rgba(((( 70, 60), (210, 60), (120, 235)),))  # fmt: skip
    assert pixels.shape == (CANVAS_SIZE, CANVAS_SIZE, 4)
    assert pixels.dtype == np.uint8
    assert (pixels[..., 3] == 255).all()
    assert set(np.unique(pixels[..., :3])) == {0, 255}
    assert (pixels[60, 70:211, :3] == 255).all()  # along the bar
    assert not pixels[150:, :60, :3].any()  # nowhere near the stroke


def test_canvas_rgba_pen_has_the_canvas_width_and_round_ends() -> None:
    pixels = canvas_rgba((((100, 140), (180, 140)),))[..., 0] > 0
    column = pixels[:, 140]
    assert abs(int(column.sum()) - PEN_WIDTH) <= 1
    row = pixels[140]
    assert np.flatnonzero(row)[[0, -1]].tolist() == [100 - PEN_WIDTH // 2, 180 + PEN_WIDTH // 2]


def test_canvas_rgba_single_point_is_a_dot() -> None:
    pixels = canvas_rgba((((140, 140),),))[..., 0] > 0
    assert pixels[140, 140]
    area = int(pixels.sum())
    assert abs(area - np.pi * (PEN_WIDTH / 2) ** 2) < 0.15 * area


def test_canvas_rgba_of_nothing_is_empty_for_the_models() -> None:
    assert canvas_to_mnist(canvas_rgba(())) is None
    assert strokes_to_mnist(()) is None


def test_strokes_to_mnist_gives_the_models_a_digit() -> None:
    image = strokes_to_mnist(((( 70, 60), (210, 60), (120, 235)),))  # fmt: skip
    assert image is not None
    assert image.shape == (28, 28)
    assert image.dtype == np.float32
    assert image.max() == pytest.approx(1.0)


def test_strokes_to_mnist_is_the_painted_canvas_made_mnist() -> None:
    strokes = (((70, 60), (210, 60), (120, 235)), ((90, 150), (170, 150)))
    assert np.array_equal(strokes_to_mnist(strokes), canvas_to_mnist(canvas_rgba(strokes)))


def test_drawing_carries_its_model_input_made_once() -> None:
    drawing = read_drawing(report())
    assert drawing is not None
    assert drawing.image is drawing.image
    assert np.array_equal(drawing.image, strokes_to_mnist(drawing.strokes))


def test_drawing_of_a_cleared_canvas_gives_the_models_nothing() -> None:
    drawing = read_drawing(report(strokes=[], generation=4))
    assert drawing is not None
    assert drawing.image is None
