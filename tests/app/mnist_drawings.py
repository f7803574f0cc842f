"""Real MNIST test digits and canvas drawings rendered from them, for the app's tests.

A "drawing" is what the app's 280×280 canvas hands over: an H×W×4 uint8 RGBA array with a
white stroke. Two renderings of a real MNIST test digit:
- `render_enlarged`: the digit itself, enlarged and placed anywhere (ink in the alpha channel
  of a transparent canvas, as a canvas without background colour returns it);
- `render_pen`: the digit's skeleton (Zhang-Suen thinning) traced with a round pen of any
  width on an opaque black canvas, the way a person draws it with the mouse.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[2]
CANVAS = 280
# The 8 neighbours P2..P9 of Zhang-Suen thinning, clockwise from north.
NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


@dataclass(frozen=True)
class MnistTestSet:
    """The real MNIST test split: uint8 images [n, 28, 28] (ink high) and labels [n]."""

    images: np.ndarray
    labels: np.ndarray


def mnist_dir() -> Path:
    """The project's copy of the MNIST test split (data/mnist/)."""
    return REPO / "data" / "mnist"


def read_idx(path: Path) -> np.ndarray:
    """Decode a gzipped IDX file (magic 2051: images, 2049: labels)."""
    raw = gzip.decompress(path.read_bytes())
    magic = int.from_bytes(raw[:4], "big")
    if magic == 2051:
        count, rows, cols = (int.from_bytes(raw[4 * i : 4 * i + 4], "big") for i in (1, 2, 3))
        return np.frombuffer(raw, np.uint8, offset=16).reshape(count, rows, cols)
    if magic == 2049:
        return np.frombuffer(raw, np.uint8, offset=8)
    raise ValueError(f"{path} is not an IDX images/labels file (magic {magic})")


def thin(mask: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning: reduce a boolean shape to one-pixel-wide lines."""
    image = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            removable = _removable(image, step)
            if removable.any():
                image[removable] = 0
                changed = True
    return image[1:-1, 1:-1].astype(bool)


def _removable(image: np.ndarray, step: int) -> np.ndarray:
    p = [np.roll(image, (-dr, -dc), (0, 1)) for dr, dc in NEIGHBOURS]
    neighbours = sum(p)
    ring = [*p, p[0]]
    transitions = sum(((ring[i] == 0) & (ring[i + 1] == 1)).astype(np.uint8) for i in range(8))
    p2, _, p4, _, p6, _, p8, _ = p
    if step == 0:
        corner = (p2 * p4 * p6 == 0) & (p4 * p6 * p8 == 0)
    else:
        corner = (p2 * p4 * p8 == 0) & (p2 * p6 * p8 == 0)
    return (image == 1) & (neighbours >= 2) & (neighbours <= 6) & (transitions == 1) & corner


def skeleton(digit: np.ndarray, upscale: int = 4) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Skeleton points (row, col) of a 28×28 digit, and the pairs of touching points."""
    size = 28 * upscale
    enlarged = Image.fromarray(digit.astype(np.float32) / 255).resize((size, size))
    points = np.argwhere(thin(np.asarray(enlarged) >= 0.5)).astype(float)
    index = {(int(r), int(c)): i for i, (r, c) in enumerate(points)}
    pairs = [
        (i, index[(int(r) + dr, int(c) + dc)])
        for i, (r, c) in enumerate(points)
        for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1))
        if (int(r) + dr, int(c) + dc) in index
    ]
    return points, pairs


def render_pen(
    digit: np.ndarray, height: float, stroke: float, centre: tuple[float, float] = (140, 140)
) -> np.ndarray:
    """`digit` traced with a round white pen `stroke` px wide, `height` px tall, on black."""
    points, pairs = skeleton(digit)
    low, high = points.min(axis=0), points.max(axis=0)
    scale = 2 * (height - stroke) / max(high[0] - low[0], 1)  # drawn at 2× then reduced
    xy = (points - (low + high) / 2) * scale + np.array(centre) * 2
    pen = Image.new("L", (2 * CANVAS, 2 * CANVAS), 0)
    draw = ImageDraw.Draw(pen)
    radius = stroke
    for row, col in xy:
        draw.ellipse((col - radius, row - radius, col + radius, row + radius), fill=255)
    for i, j in pairs:
        line = (xy[i][1], xy[i][0], xy[j][1], xy[j][0])
        draw.line(line, fill=255, width=max(1, round(2 * stroke)))
    gray = np.asarray(pen.resize((CANVAS, CANVAS), Image.Resampling.BOX))
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)])


def render_enlarged(
    digit: np.ndarray, height: float, centre: tuple[float, float] = (140, 140)
) -> np.ndarray:
    """`digit` itself enlarged so its 20 px box is `height` px, as ink on a transparent canvas."""
    size = round(28 * height / 20)
    enlarged = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BILINEAR))
    alpha = np.zeros((CANVAS, CANVAS), np.uint8)
    top, left = round(centre[0] - size / 2), round(centre[1] - size / 2)
    rows = slice(max(top, 0), min(top + size, CANVAS))
    cols = slice(max(left, 0), min(left + size, CANVAS))
    alpha[rows, cols] = enlarged[
        rows.start - top : rows.stop - top, cols.start - left : cols.stop - left
    ]
    white = np.full_like(alpha, 255)
    return np.dstack([white, white, white, alpha])


Drawing = Callable[[np.ndarray], np.ndarray]

DRAWINGS: dict[str, Drawing] = {
    "enlarged-large-centred": lambda d: render_enlarged(d, 200),
    "enlarged-small-top-left": lambda d: render_enlarged(d, 60, (50, 50)),
    "pen-large-medium-stroke": lambda d: render_pen(d, 200, 18),
    "pen-small-off-centre-medium-stroke": lambda d: render_pen(d, 90, 14, (70, 190)),
    "pen-large-thin-stroke": lambda d: render_pen(d, 240, 4, (130, 150)),
    "pen-medium-off-centre-normal-stroke": lambda d: render_pen(d, 150, 10, (170, 110)),
    "pen-medium-thick-stroke": lambda d: render_pen(d, 150, 30),
}
"""Ways a person may draw: size (px tall on the 280 px canvas), place and stroke width."""
