"""canvas_to_mnist: blank canvases, bad arrays, and drawings rendered from real MNIST digits."""

from __future__ import annotations

import numpy as np
import pytest

from app.preprocess import (
    MNIST_SIZE,
    canvas_to_mnist,
    center_by_mass,
    center_of_mass,
    stroke_width,
)
from tests.app.mnist_drawings import DRAWINGS, Drawing, MnistTestSet, render_enlarged, render_pen


def blank_canvas(opaque: bool = True) -> np.ndarray:
    canvas = np.zeros((280, 280, 4), np.uint8)
    canvas[..., 3] = 255 if opaque else 0
    return canvas


def ink_box_side(image: np.ndarray, threshold: float = 0.1) -> int:
    """The longer side of the box holding every pixel with at least `threshold` ink."""
    rows = np.flatnonzero((image >= threshold).any(axis=1))
    cols = np.flatnonzero((image >= threshold).any(axis=0))
    return int(max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1)


def preprocess_all(drawing: Drawing, digits: np.ndarray) -> list[np.ndarray]:
    results = [canvas_to_mnist(drawing(digit)) for digit in digits]
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]


@pytest.mark.parametrize("opaque", [True, False], ids=["black", "transparent"])
def test_canvas_to_mnist_returns_none_for_blank_canvas(opaque: bool) -> None:
    assert canvas_to_mnist(blank_canvas(opaque)) is None


def test_canvas_to_mnist_returns_none_for_faint_smudge() -> None:
    canvas = blank_canvas()
    canvas[100:110, 100:110, :3] = 30  # anti-aliasing grey, no real stroke
    assert canvas_to_mnist(canvas) is None


def test_canvas_to_mnist_ignores_black_paint() -> None:
    canvas = blank_canvas(opaque=False)
    canvas[50:200, 130:150, 3] = 255  # opaque black stroke on a transparent canvas
    assert canvas_to_mnist(canvas) is None


@pytest.mark.parametrize(
    ("array", "message"),
    [
        (np.zeros((280, 280), np.uint8), "H×W×4"),
        (np.zeros((280, 280, 3), np.uint8), "H×W×4"),
        (np.zeros((1, 280, 280, 4), np.uint8), "H×W×4"),
        (np.zeros((280, 280, 4), np.float32), "uint8"),
        (np.zeros((280, 280, 4), np.uint16), "uint8"),
        (np.zeros((0, 280, 4), np.uint8), "non-empty"),
        ([[[0, 0, 0, 255]]], "numpy array"),
        (None, "numpy array"),
    ],
    ids=["2d", "rgb", "batch", "float", "uint16", "empty", "list", "none"],
)
def test_canvas_to_mnist_rejects_bad_array(array: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        canvas_to_mnist(array)  # type: ignore[arg-type]


def test_canvas_to_mnist_returns_float32_image_in_unit_range() -> None:
    canvas = blank_canvas()
    canvas[40:240, 120:150, :3] = 255
    image = canvas_to_mnist(canvas)
    assert image is not None
    assert image.shape == (MNIST_SIZE, MNIST_SIZE)
    assert image.dtype == np.float32
    assert image.min() == 0.0
    assert image.max() == pytest.approx(1.0)


def test_canvas_to_mnist_keeps_aspect_ratio() -> None:
    canvas = blank_canvas()
    canvas[40:240, 100:150, :3] = 255  # a bar 200 tall, 50 wide -> 20 × 5
    image = canvas_to_mnist(canvas)
    assert image is not None
    solid = image >= 0.5
    assert np.flatnonzero(solid.any(axis=1)).size == 20
    assert np.flatnonzero(solid.any(axis=0)).size == 5


def test_canvas_to_mnist_handles_single_dot() -> None:
    canvas = blank_canvas()
    canvas[10, 270, :3] = 255
    image = canvas_to_mnist(canvas)
    assert image is not None
    assert center_of_mass(image) == pytest.approx((14.0, 14.0), abs=0.5)


def test_center_by_mass_keeps_all_ink_in_the_field() -> None:
    seven = np.zeros((28, 28), np.float32)
    seven[4:8, 4:24] = 1.0  # a heavy bar: the centre of mass is near the top
    seven[8:24, 20] = 1.0  # a thin stem down to row 23
    centred = center_by_mass(seven)
    assert centred.sum() == seven.sum()
    assert centred[27].any()  # moved down as far as the stem allows


def test_canvas_to_mnist_accepts_any_canvas_size(mnist_test_set: MnistTestSet) -> None:
    digit = mnist_test_set.images[0]
    drawing = render_pen(digit, 200, 18)
    doubled = drawing.repeat(2, axis=0).repeat(2, axis=1)  # a HiDPI canvas, 560×560
    small, large = canvas_to_mnist(drawing), canvas_to_mnist(doubled)
    assert small is not None
    assert large is not None
    assert np.corrcoef(small.ravel(), large.ravel())[0, 1] > 0.95


def test_canvas_to_mnist_ignores_where_the_digit_is(mnist_test_set: MnistTestSet) -> None:
    drawing = render_pen(mnist_test_set.images[1], 120, 14)
    moved = np.roll(drawing, (-70, 60), axis=(0, 1))
    assert np.array_equal(canvas_to_mnist(drawing), canvas_to_mnist(moved))


def test_canvas_to_mnist_reads_ink_from_alpha_or_colour(mnist_test_set: MnistTestSet) -> None:
    transparent = render_enlarged(mnist_test_set.images[2], 180)
    opaque = transparent.copy()
    opaque[..., :3] = transparent[..., 3:]
    opaque[..., 3] = 255
    assert np.allclose(canvas_to_mnist(transparent), canvas_to_mnist(opaque), atol=1e-6)


def test_canvas_to_mnist_thickens_hairline(mnist_test_set: MnistTestSet) -> None:
    hairline = canvas_to_mnist(render_pen(mnist_test_set.images[3], 250, 2))
    assert hairline is not None
    assert stroke_width(hairline) >= 2.0  # MNIST's thinnest strokes are about 2 px


@pytest.mark.parametrize("drawing_name", list(DRAWINGS))
def test_canvas_to_mnist_makes_mnist_geometry(
    drawing_name: str, mnist_test_set: MnistTestSet, sample_indices: np.ndarray
) -> None:
    """Longer side 20 px, centre of mass on pixel (14, 14), as in MNIST itself."""
    digits = mnist_test_set.images[sample_indices[:60]]
    for image in preprocess_all(DRAWINGS[drawing_name], digits):
        assert ink_box_side(image) == 20
        assert center_of_mass(image) == pytest.approx((14.0, 14.0), abs=0.5)


@pytest.mark.parametrize(
    ("drawing_name", "min_median_correlation"),
    [(name, 0.95 if name.startswith("enlarged") else 0.7) for name in DRAWINGS],
)
def test_canvas_to_mnist_resembles_original_digit(
    drawing_name: str,
    min_median_correlation: float,
    mnist_test_set: MnistTestSet,
    sample_indices: np.ndarray,
) -> None:
    """Pixel correlation with the MNIST digit the drawing was made from.

    An enlarged digit must come back nearly pixel for pixel; a pen tracing keeps the shape
    but not the original's stroke, so it correlates less.
    """
    digits = mnist_test_set.images[sample_indices[:60]]
    images = preprocess_all(DRAWINGS[drawing_name], digits)
    correlations = [
        np.corrcoef(image.ravel(), digit.ravel())[0, 1]
        for image, digit in zip(images, digits, strict=True)
    ]
    assert np.median(correlations) >= min_median_correlation
