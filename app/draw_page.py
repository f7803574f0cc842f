"""The drawing page: draw a digit, see what every deployed model makes of it.

The page only renders: the drawing comes from the canvas (`reported_drawing`, a CanvasDrawing
that carries its 28×28 `image`), the deployed models from `recent_deployments`, each answer
from the inference client, and every problem is said by `ui.show_error`.
"""

from __future__ import annotations

import html

import numpy as np
import streamlit as st
from PIL import Image

from app.deployments import Deployment
from app.digit_canvas import digit_canvas, reported_drawing
from app.drawing import CanvasDrawing
from app.errors import AppError
from app.inference_client import Prediction
from app.recent_deployments import deployed_models, recent_deployments
from app.settings import AppSettings
from app.ui import inference_client, registry_client, show_error

MODEL_VIEW_SIZE = 140

ANSWER_STYLE = """
<style>
.predicted-digit {font-size: 5.5rem; font-weight: 700; line-height: 1; margin: 0.2rem 0;}
.confidence {margin: 0;}
.prediction-facts {color: rgba(128, 128, 128, 0.95); font-size: 0.9rem;}
.probabilities {margin: 0.5rem 0 1rem; font-size: 0.9rem;}
.probabilities > div {display: grid; grid-template-columns: 1.2rem 1fr 3.6rem; gap: 0.5rem;
  align-items: center; height: 1.5rem;}
.probabilities > div > span:last-child {text-align: right; font-variant-numeric: tabular-nums;}
.probabilities > div > span:nth-child(2) {height: 1rem; background: rgba(128, 128, 128, 0.12);
  border-radius: 2px;}
.probabilities i {display: block; height: 100%; background: #4c78a8; border-radius: 2px;}
.probabilities .predicted {font-weight: 700;}
.probabilities .predicted i {background: #e4572e;}
</style>
"""


CANVAS_KEY = "digit-canvas"


def draw_page(settings: AppSettings) -> None:
    st.title("Draw a digit")
    st.caption(
        "Draw one digit, 0 to 9, with the mouse, a pen or a finger; every deployed model "
        "answers while you draw and the moment you lift it. The models were trained on MNIST "
        "and registered in the model registry, which is where this page finds them."
    )
    st.html(ANSWER_STYLE)
    drawing_column, answers_column = st.columns([2, 3], gap="large")
    with answers_column:
        drawing, answered = drawing_and_answers(settings)
    with drawing_column:  # after the answers: the canvas learns what was answered
        st.markdown("**Your drawing**")
        seq = drawing.seq if drawing else 0
        digit_canvas(CANVAS_KEY, answered=seq, retry=not answered)
        show_model_view(drawing.image if drawing else None)


def drawing_and_answers(settings: AppSettings) -> tuple[CanvasDrawing | None, bool]:
    """The canvas's last drawing, and every deployed model's answer to it on the page; False
    when any of that was a problem worth asking again about (its sentence is on the page)."""
    drawing = None
    try:
        drawing = reported_drawing(CANVAS_KEY)
        deployments = deployed_models(registry_client(settings), settings)
    except AppError as error:
        show_error(error)
        return drawing, not error.ask_again
    answered = show_answers(deployments, drawing, settings)
    if not answered:
        recent_deployments(settings).forget()  # the registry may know why: read it again
    return drawing, answered


def show_model_view(image: np.ndarray | None) -> None:
    st.markdown("**What the model sees**")
    if image is None:
        st.caption("Nothing drawn yet: the models get a 28×28 picture of your digit.")
    else:
        st.image(model_view(image), width=MODEL_VIEW_SIZE)
        st.caption("28×28: cropped, scaled to 20 px and centred by mass, as MNIST was made.")


def model_view(image: np.ndarray) -> Image.Image:
    """The 28×28 input, enlarged with square pixels so people see it as the model does."""
    pixels = (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    size = (MODEL_VIEW_SIZE, MODEL_VIEW_SIZE)
    return Image.fromarray(pixels).resize(size, Image.Resampling.NEAREST)


def show_answers(
    deployments: list[Deployment], drawing: CanvasDrawing | None, settings: AppSettings
) -> bool:
    """One column per deployed model, side by side, each with its answer or its problem;
    False when any answer was a problem."""
    names = ", ".join(d.label for d in deployments)
    st.subheader("Deployed models' answers" if len(deployments) > 1 else "The model's answer")
    image = drawing.image if drawing else None
    if drawing is None or image is None:
        st.info(f"Deployed and waiting for your drawing: {names}.", icon=":material/draw:")
        return True
    answered = True
    for column, deployment in zip(st.columns(len(deployments)), deployments, strict=True):
        with column, st.container(border=True):
            st.markdown(f"**{deployment.label}**")
            try:
                prediction = inference_client(settings).predict(deployment, image)
                show_prediction(prediction, drawing)
            except AppError as error:
                show_error(error)
                answered = False
    return answered


def show_prediction(prediction: Prediction, drawing: CanvasDrawing) -> None:
    st.html(answer_html(prediction, drawing.key, drawing.seq))


def answer_html(prediction: Prediction, drawing_key: str, seq: int) -> str:
    """The digit large, its confidence, all 10 probabilities, who answered and how fast: one
    piece of HTML, so that all of it reaches the page in the same frame."""
    service = html.escape(prediction.deployment.service_name)
    return (
        f'<div class="predicted-digit" data-service="{service}" '
        f'data-drawing="{html.escape(drawing_key)}" data-seq="{seq}">{prediction.digit}</div>'
        f'<p class="confidence">confidence <strong>{prediction.confidence:.1%}</strong></p>'
        f"{probability_bars(prediction, drawing_key)}"
        f'<div class="prediction-facts">{html.escape(answer_facts(prediction))}</div>'
    )


def answer_facts(prediction: Prediction) -> str:
    """Which version and InferenceService answered, and the round-trip latency."""
    deployment = prediction.deployment
    version = f"model {deployment.model_name} {deployment.version_name}"
    served = prediction.model_version
    if served and served not in (deployment.version_name, deployment.version_id):
        version += f" (server reports version {served})"
    return (
        f"{version} · InferenceService {deployment.service_name} · "
        f"round trip {prediction.latency_ms:.0f} ms"
    )


def probability_bars(prediction: Prediction, drawing_key: str) -> str:
    """All 10 probabilities as horizontal bars with their values, the predicted digit's in
    orange: plain HTML, so that they reach the page in the same frame as the digit."""
    rows = "".join(
        f'<div class="{"predicted" if digit == prediction.digit else ""}">'
        f'<span>{digit}</span><span><i style="width: {p:.1%}"></i></span>'
        f"<span>{p:.1%}</span></div>"
        for digit, p in enumerate(prediction.probabilities)
    )
    return f'<div class="probabilities" data-drawing="{html.escape(drawing_key)}">{rows}</div>'
