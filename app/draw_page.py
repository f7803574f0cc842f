"""The drawing page: draw a digit, see what every deployed model makes of it."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import streamlit as st
from PIL import Image

from app.deployments import Deployment, deployed
from app.errors import AppError
from app.inference_client import Prediction
from app.preprocess import canvas_to_mnist
from app.settings import AppSettings
from app.ui import inference_client, read_registry, show_error

CANVAS_SIZE = 280
STROKE_WIDTH = 18
MODEL_VIEW_SIZE = 140

ANSWER_STYLE = """
<style>
.predicted-digit {font-size: 5.5rem; font-weight: 700; line-height: 1; margin: 0.2rem 0;}
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


def draw_page(settings: AppSettings) -> None:
    st.title("Draw a digit")
    st.caption(
        "Draw one digit, 0 to 9, with the mouse (or a finger); every deployed model answers "
        "the moment you lift it. The models were trained on MNIST and registered in the model "
        "registry, which is where this page finds them."
    )
    st.html(ANSWER_STYLE)
    drawing_column, answers_column = st.columns([2, 3], gap="large")
    with drawing_column:
        drawing = drawing_and_model_view()
    with answers_column:
        deployments = read_registry(
            settings, lambda registry: deployed(registry, settings.environment)
        )
        if deployments is not None:
            show_answers(deployments, drawing, settings)


@dataclass(frozen=True)
class Drawing:
    """What is on the canvas: the 28×28 model input (None when empty), and which drawing."""

    image: np.ndarray | None
    key: str
    """`<canvas generation>-<strokes>`: new with every stroke and every Clear. Each answer
    carries it (`data-drawing`), so a page reader knows which drawing an answer is for."""


def drawing_and_model_view() -> Drawing:
    """The canvas with its Clear button, and the 28×28 image the models will get."""
    st.markdown("**Your drawing**")
    rgba, key = drawing_canvas()
    image = canvas_to_mnist(rgba) if rgba is not None else None
    st.markdown("**What the model sees**")
    if image is None:
        st.caption("Nothing drawn yet: the models get a 28×28 picture of your digit.")
    else:
        st.image(model_view(image), width=MODEL_VIEW_SIZE)
        st.caption("28×28: cropped, scaled to 20 px and centred by mass, as MNIST was made.")
    return Drawing(image, key)


def drawing_canvas() -> tuple[np.ndarray | None, str]:
    """A 280×280 black canvas with a thick white pen: its RGBA pixels (None before drawing)
    and the drawing's key (see `Drawing.key`)."""
    from streamlit_drawable_canvas import (
        st_canvas,
    )  # registers its component: needs `streamlit run`

    generation = st.session_state.setdefault("canvas_generation", 0)
    result = st_canvas(
        stroke_width=STROKE_WIDTH,
        stroke_color="#FFFFFF",
        background_color="#000000",
        height=CANVAS_SIZE,
        width=CANVAS_SIZE,
        drawing_mode="freedraw",
        return_image_data=True,
        key=f"digit-canvas-{generation}",
    )
    st.button("Clear", icon=":material/ink_eraser:", on_click=clear_canvas)
    strokes = len((result.json_data or {}).get("objects") or [])
    rgba = result.image_data
    return (None if rgba is None else np.asarray(rgba)), f"{generation}-{strokes}"


def clear_canvas() -> None:
    """A new canvas key: Streamlit mounts a fresh, empty canvas."""
    st.session_state["canvas_generation"] = st.session_state.get("canvas_generation", 0) + 1


def model_view(image: np.ndarray) -> Image.Image:
    """The 28×28 input, enlarged with square pixels so people see it as the model does."""
    pixels = (np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
    size = (MODEL_VIEW_SIZE, MODEL_VIEW_SIZE)
    return Image.fromarray(pixels).resize(size, Image.Resampling.NEAREST)


def show_answers(deployments: list[Deployment], drawing: Drawing, settings: AppSettings) -> None:
    """One column per deployed model, side by side, each with its answer or its problem."""
    names = ", ".join(d.label for d in deployments)
    st.subheader("Deployed models' answers" if len(deployments) > 1 else "The model's answer")
    if drawing.image is None:
        st.info(f"Deployed and waiting for your drawing: {names}.", icon=":material/draw:")
        return
    for column, deployment in zip(st.columns(len(deployments)), deployments, strict=True):
        with column, st.container(border=True):
            st.markdown(f"**{deployment.label}**")
            try:
                prediction = inference_client(settings).predict(deployment, drawing.image)
                show_prediction(prediction, drawing.key)
            except AppError as error:
                show_error(error)


def show_prediction(prediction: Prediction, drawing_key: str) -> None:
    """The digit large, its confidence, all 10 probabilities, who answered and how fast."""
    service = html.escape(prediction.deployment.service_name)
    st.html(
        f'<div class="predicted-digit" data-service="{service}" '
        f'data-drawing="{html.escape(drawing_key)}">{prediction.digit}</div>'
    )
    st.markdown(f"confidence **{prediction.confidence:.1%}**")
    st.html(probability_bars(prediction, drawing_key))
    st.html(f'<div class="prediction-facts">{html.escape(answer_facts(prediction))}</div>')


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
    orange. Plain HTML: on screen with the digit, where a Vega-Lite chart came ~30 ms later."""
    rows = "".join(
        f'<div class="{"predicted" if digit == prediction.digit else ""}">'
        f'<span>{digit}</span><span><i style="width: {p:.1%}"></i></span>'
        f"<span>{p:.1%}</span></div>"
        for digit, p in enumerate(prediction.probabilities)
    )
    return f'<div class="probabilities" data-drawing="{html.escape(drawing_key)}">{rows}</div>'
