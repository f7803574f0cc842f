"""Pictures for the notebooks: sample digits, the training curve, a prediction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def show_digits(images: Sequence[np.ndarray], titles: Sequence[str]) -> Figure:
    """One grayscale panel per 28×28 image, with its title."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(images), figsize=(2.6 * len(images), 2.8), squeeze=False)
    for axis, image, title in zip(axes[0], images, titles, strict=True):
        axis.imshow(np.asarray(image).reshape(28, 28), cmap="gray_r")
        axis.set_title(title)
        axis.axis("off")
    figure.tight_layout()
    return figure


def plot_history(history: dict[str, list[float]]) -> Figure:
    """Accuracy and loss per epoch; test-set curves dashed when recorded (`val_*`)."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.5))
    for axis, metric in zip(axes, ("accuracy", "loss"), strict=True):
        epochs = np.arange(1, len(history[metric]) + 1)
        axis.plot(epochs, history[metric], marker="o", label=f"train {metric}")
        if f"val_{metric}" in history:
            axis.plot(epochs, history[f"val_{metric}"], "--", marker="o", label=f"test {metric}")
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
        axis.grid(alpha=0.3)
    figure.tight_layout()
    return figure


def show_prediction(
    image: np.ndarray, probabilities: np.ndarray, label: int | None = None
) -> Figure:
    """The digit beside a bar chart of the ten probabilities (the predicted one highlighted)."""
    import matplotlib.pyplot as plt

    probabilities = np.asarray(probabilities).reshape(10)
    predicted = int(probabilities.argmax())
    figure, (left, right) = plt.subplots(1, 2, figsize=(8, 3), width_ratios=(1, 2))
    left.imshow(np.asarray(image).reshape(28, 28), cmap="gray_r")
    left.set_title("input" if label is None else f"input (label {label})")
    left.axis("off")
    colors = ["tab:orange" if digit == predicted else "tab:blue" for digit in range(10)]
    right.bar(range(10), probabilities, color=colors)
    right.set_xticks(range(10))
    right.set_ylim(0, 1)
    right.set_title(f"predicted {predicted} (p = {probabilities[predicted]:.3f})")
    figure.tight_layout()
    return figure
