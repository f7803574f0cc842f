"""What the draw page renders for an answer (pure functions; the page itself runs in Chromium)."""

from __future__ import annotations

import re

import pytest

from app.deployments import Deployment
from app.draw_page import answer_html, probability_bars
from app.inference_client import Prediction

PROBABILITIES = (0.01, 0.02, 0.0, 0.9, 0.03, 0.01, 0.0, 0.02, 0.01, 0.0)


def prediction() -> Prediction:
    """A 3 (probabilities are all the bars need; who answered is left out)."""
    return Prediction(deployment=None, probabilities=PROBABILITIES, latency_ms=2.0,
                      model_version=None)  # fmt: skip


def test_probability_bars_one_row_per_digit_with_its_value() -> None:
    rows = re.findall(r"<span>(\d)</span><span><i style=\"width: ([\d.]+)%\"></i></span>"
                      r"<span>([\d.]+)%</span>", probability_bars(prediction(), "0-1"))  # fmt: skip
    assert [int(digit) for digit, _, _ in rows] == list(range(10))
    assert [float(width) for _, width, _ in rows] == pytest.approx([100 * p for p in PROBABILITIES])
    assert [width for _, width, _ in rows] == [value for _, _, value in rows]


def test_probability_bars_mark_only_predicted_digit() -> None:
    bars = probability_bars(prediction(), "0-1")
    assert re.findall(r'<div class="predicted"><span>(\d)</span>', bars) == ["3"]
    assert bars.count('class="predicted"') == 1


def test_probability_bars_carry_drawing_key_escaped() -> None:
    bars = probability_bars(prediction(), '2-1"><script>')
    assert bars.startswith('<div class="probabilities" data-drawing="2-1&quot;&gt;&lt;script&gt;">')


def test_answer_html_names_service_drawing_and_report() -> None:
    deployment = Deployment(service_id="6", service_name="mnist-e2e", model_id="2",
                            model_name="MNIST", version_id="4", version_name="v2",
                            runtime="mmserver1", desired_state="DEPLOYED",
                            observed_state="RUNNING", observed_version_id="4",
                            observed_reason="", endpoint=None)  # fmt: skip
    answer = Prediction(deployment=deployment, probabilities=PROBABILITIES, latency_ms=2.4,
                        model_version="4")  # fmt: skip
    shown = answer_html(answer, "1-2~17", 17)
    assert shown.startswith(
        '<div class="predicted-digit" data-service="mnist-e2e" data-drawing="1-2~17" '
        'data-seq="17">3</div>'
    )
    assert '<p class="confidence">confidence <strong>90.0%</strong></p>' in shown
    assert probability_bars(answer, "1-2~17") in shown
    assert "model MNIST v2 · InferenceService mnist-e2e · round trip 2 ms" in shown
