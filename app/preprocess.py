"""Turn a drawing from the canvas into the 28×28 image an MNIST model expects.

This does what made MNIST itself (LeCun et al.): crop the digit to the bounding box of its
ink, scale it so its longer side is 20 pixels keeping the aspect ratio (with anti-aliasing,
so the edges come out grey), paste it into a 28×28 field and shift it so that the centre of
mass of the ink sits at the centre of the field. Before scaling, a hairline stroke (a large
digit drawn with a thin brush) is thickened to MNIST's thinnest pen width relative to the
digit's size, so it does not fade to grey when scaled down. Heavy strokes are left as drawn:
eroding them measurably hurt recognition (see tests/app/test_preprocess.py).

Pure numpy + Pillow: the tests import it without Streamlit.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

MNIST_SIZE = 28
DIGIT_SIZE = 20
INK_THRESHOLD = 0.25
"""Pixels with at least this much ink (0..1) count as drawn; fainter ones are anti-aliasing."""

WORKING_SIZE = 100
"""Longer side, in pixels, of the digit while its stroke width is adjusted (5× MNIST's 20)."""

MIN_STROKE_WIDTH = 12.0
"""Thinnest stroke (px at WORKING_SIZE) left as drawn: 2.4 px at MNIST's scale, between its
5th and 25th percentile; thinner ones are dilated up to it."""

Box = tuple[slice, slice]


def canvas_to_mnist(rgba: np.ndarray) -> np.ndarray | None:
    """The canvas's H×W×4 uint8 RGBA drawing as a float32 28×28 MNIST image (ink high, 0..1).

    Ink is bright paint (a white stroke on a black or transparent background). Returns None
    when nothing is drawn. Raises ValueError for anything that is not an H×W×4 uint8 array.
    """
    ink = ink_intensity(rgba)
    box = ink_bounding_box(ink)
    if box is None:
        return None
    digit = scale_to_digit_size(thicken_hairline(scale_longer_side(ink[box], WORKING_SIZE)))
    return center_by_mass(paste_centered(digit, MNIST_SIZE))


def ink_intensity(rgba: np.ndarray) -> np.ndarray:
    """How much bright ink each pixel holds, 0..1: luminance weighted by opacity."""
    _check_canvas_array(rgba)
    rgb = rgba[..., :3].astype(np.float32) / 255.0
    luminance = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    alpha = rgba[..., 3].astype(np.float32) / 255.0
    return np.clip(luminance * alpha, 0.0, 1.0)


def _check_canvas_array(rgba: object) -> None:
    if not isinstance(rgba, np.ndarray):
        raise ValueError(f"expected a numpy array of RGBA pixels, got {type(rgba).__name__}")
    if rgba.ndim != 3 or rgba.shape[2] != 4:
        raise ValueError(f"expected an H×W×4 RGBA array, got shape {rgba.shape}")
    if rgba.dtype != np.uint8:
        raise ValueError(f"expected uint8 RGBA pixels (0..255), got dtype {rgba.dtype}")
    if rgba.shape[0] == 0 or rgba.shape[1] == 0:
        raise ValueError(f"expected a non-empty canvas, got shape {rgba.shape}")


def ink_bounding_box(ink: np.ndarray) -> Box | None:
    """The smallest rows × columns window holding every inked pixel, or None if there is none."""
    drawn = ink >= INK_THRESHOLD
    rows = np.flatnonzero(drawn.any(axis=1))
    cols = np.flatnonzero(drawn.any(axis=0))
    if rows.size == 0:
        return None
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def scale_longer_side(image: np.ndarray, size: int) -> np.ndarray:
    """Resize (anti-aliased) so the longer side is `size` px, keeping the aspect ratio."""
    height, width = image.shape
    factor = size / max(height, width)
    new_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    resized = Image.fromarray(image.astype(np.float32)).resize(new_size, Image.Resampling.LANCZOS)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def scale_to_digit_size(image: np.ndarray) -> np.ndarray:
    """Down to MNIST's 20 px box, then stretch the contrast so the darkest ink is 1."""
    digit = scale_longer_side(image, DIGIT_SIZE)
    peak = float(digit.max())
    return digit / peak if peak > 0 else digit


def stroke_width(image: np.ndarray) -> float:
    """Estimated pen width in pixels: twice the inked area over the length of its outline."""
    drawn = image >= 0.5
    padded = np.pad(drawn, 1)
    interior = (
        padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1]
        & padded[1:-1, :-2] & padded[1:-1, 2:]
    )  # fmt: skip
    outline = int((drawn & ~interior).sum())
    return 2.0 * float(drawn.sum()) / outline if outline else 0.0


def thicken_hairline(image: np.ndarray) -> np.ndarray:
    """Dilate a stroke thinner than MIN_STROKE_WIDTH up to it; leave other strokes as drawn."""
    missing = MIN_STROKE_WIDTH - stroke_width(image)
    size = 2 * round(missing / 2) + 1
    if size < 3:
        return image
    thickened = Image.fromarray(image).filter(ImageFilter.MaxFilter(size))
    return np.asarray(thickened, dtype=np.float32)


def paste_centered(digit: np.ndarray, size: int) -> np.ndarray:
    """Paste `digit` in the middle of a blank size×size field."""
    field = np.zeros((size, size), dtype=np.float32)
    top = (size - digit.shape[0]) // 2
    left = (size - digit.shape[1]) // 2
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return field


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass."""
    rows, cols = np.indices(image.shape)
    total = float(image.sum())
    return float((rows * image).sum()) / total, float((cols * image).sum()) / total


def center_by_mass(image: np.ndarray) -> np.ndarray:
    """Shift by whole pixels so the centre of mass lands on MNIST's centre, pixel (14, 14).

    The shift stops where ink would leave the field (a 7 with a long bar and a thin stem
    otherwise loses the tip of its stem).
    """
    row, col = center_of_mass(image)
    centre = image.shape[0] // 2
    inked_rows = np.flatnonzero(image.any(axis=1))
    inked_cols = np.flatnonzero(image.any(axis=0))
    down = _within(centre - round(row), inked_rows, image.shape[0])
    right = _within(centre - round(col), inked_cols, image.shape[1])
    return _shift(image, down, right)


def _within(shift: int, inked: np.ndarray, size: int) -> int:
    """`shift` limited so that the inked span [first, last] stays inside 0..size-1."""
    return int(np.clip(shift, -inked[0], size - 1 - inked[-1]))


def _shift(image: np.ndarray, down: int, right: int) -> np.ndarray:
    """Move the content; whatever leaves the field is dropped, what enters is blank."""
    height, width = image.shape
    shifted = np.zeros_like(image)
    src_rows = slice(max(0, -down), min(height, height - down))
    src_cols = slice(max(0, -right), min(width, width - right))
    dst_rows = slice(max(0, down), min(height, height + down))
    dst_cols = slice(max(0, right), min(width, width + right))
    shifted[dst_rows, dst_cols] = image[src_rows, src_cols]
    return shifted
