"""The notebook pictures: one panel per digit, two curves per metric, a labelled prediction."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

from training.plots import plot_history, show_digits, show_prediction

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def close_figures():
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def test_show_digits_titles_each_panel() -> None:
    figure = show_digits([np.zeros((28, 28)), np.ones(784)], ["a 3", "a 4"])
    assert [axis.get_title() for axis in figure.axes] == ["a 3", "a 4"]


def test_show_digits_rejects_missing_title() -> None:
    with pytest.raises(ValueError, match="shorter"):
        show_digits([np.zeros((28, 28)), np.zeros((28, 28))], ["only one"])


def test_plot_history_draws_train_and_test_curves() -> None:
    history = {"accuracy": [0.8, 0.9], "loss": [0.5, 0.3], "val_accuracy": [0.85, 0.88],
               "val_loss": [0.4, 0.35]}  # fmt: skip
    figure = plot_history(history)
    assert [len(axis.lines) for axis in figure.axes[:2]] == [2, 2]


def test_plot_history_without_test_curves() -> None:
    figure = plot_history({"accuracy": [0.8], "loss": [0.5]})
    assert [len(axis.lines) for axis in figure.axes[:2]] == [1, 1]


def test_show_prediction_names_predicted_digit() -> None:
    probabilities = np.full(10, 0.02, dtype=np.float32)
    probabilities[4] = 0.82
    figure = show_prediction(np.zeros((28, 28)), probabilities, label=4)
    assert figure.axes[1].get_title() == "predicted 4 (p = 0.820)"
    assert figure.axes[0].get_title() == "input (label 4)"
