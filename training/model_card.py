"""The model card: the RegisteredModel's `readme` and each ModelVersion's `description`.

Publishing writes both. The readme is Markdown: what the model does, the data, how each
version was trained, its metrics, intended use and limitations, and the seed's curl to deploy
it. Only the block between GENERATED_BEGIN and GENERATED_END is publishing's: re-publishing
replaces that block and keeps everything a person wrote before or after it. A readme
without the markers keeps its text and gets the block appended below it.

The card is built from what the registry holds (every version's customProperties), so a
version published by a notebook and one by the pipeline appear alike.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

from mr_client import ModelVersion, RegisteredModel, RegistryClient, RegistryError
from mr_client.urls import API, SEED_API

GENERATED_BEGIN = "<!-- model-card:begin (written by publishing; edit outside this block) -->"
GENERATED_END = "<!-- model-card:end -->"

Properties = Mapping[str, Any]

LIMITATIONS = """\
- Trained for the workshop demo, not for production: MNIST digits are centred, size-normalised,
  white on black, 28×28 pixels. Photos, other scripts, several digits or letters are not
  recognised; the app's drawing preprocessing brings a drawing close to that form first.
- Every input gets one of ten digits: there is no "not a digit" answer. Read the probabilities.
- The per-digit accuracy above shows where each version is weakest; MNIST's test set is
  written by different people than its training set, drawings in the app by yet others.
"""


class ModelCardError(Exception):
    """The model card could not be written; the message says what failed."""


def number(properties: Properties, name: str) -> float | None:
    try:
        return float(properties[name])
    except (KeyError, TypeError, ValueError):
        return None


def weakest_digit(properties: Properties) -> tuple[int, float] | None:
    """(digit, accuracy) of the digit the version gets right least often, if recorded."""
    found = [(number(properties, f"accuracy_digit_{d}"), d) for d in range(10)]
    known = [(accuracy, digit) for accuracy, digit in found if accuracy is not None]
    return (min(known)[1], min(known)[0]) if known else None


def version_description(properties: Properties) -> str:
    """One line for a ModelVersion's `description`: kind, training, accuracy, weakest digit."""
    kind = properties.get("model_kind", "MNIST")
    parts = [f"{kind} model"]
    params = training_params(properties)
    if params.get("epochs"):
        source = properties.get("dataset_source")
        parts.append(f"trained {params['epochs']} epochs" + (f" on {source}" if source else ""))
    accuracy = number(properties, "test_accuracy")
    if accuracy is not None:
        parts.append(f"test accuracy {accuracy:.4f}")
    weakest = weakest_digit(properties)
    if weakest:
        parts.append(f"weakest digit {weakest[0]} ({weakest[1]:.4f})")
    return ", ".join(parts)


def training_params(properties: Properties) -> dict[str, Any]:
    try:
        params = json.loads(str(properties.get("training_params") or "{}"))
    except ValueError:
        return {}
    return params if isinstance(params, dict) else {}


def lineage_text(properties: Properties) -> str:
    if properties.get("pipeline_run_id"):
        run = f"`{properties.get('pipeline_run_name')}` ({properties['pipeline_run_id']})"
        return f"pipeline `{properties.get('pipeline_name', '')}` run {run}"
    return "a notebook or script calling `training.publish.publish_model`"


def version_section(version: ModelVersion) -> str:
    """The card's part about one version: training, lineage and metrics."""
    props = version.properties
    params = ", ".join(f"{k} {v}" for k, v in sorted(training_params(props).items()))
    seconds = number(props, "training_seconds")
    lines = [
        f"### {version.name} (version id {version.id}, state {version.state})",
        "",
        f"- {version_description(props)}",
        f"- trained with {params or 'unrecorded parameters'}"
        + (f" in {seconds:.0f} s" if seconds is not None else ""),
        f"- made by {lineage_text(props)}",
        f"- ONNX opset {props.get('onnx_opset', '?')}, sha256 `{props.get('sha256', '?')}`",
    ]
    digits = [(d, number(props, f"accuracy_digit_{d}")) for d in range(10)]
    known = " · ".join(f"{d}: {a:.3f}" for d, a in digits if a is not None)
    if known:
        lines.append(f"- accuracy per digit on the 10k test set: {known}")
    if props.get("modelcar_uri"):
        lines.append(f"- modelcar `{props['modelcar_uri']}` ({props.get('modelcar_digest')})")
    return "\n".join(lines)


def data_section(versions: list[ModelVersion]) -> str:
    """Where the training and test data came from, per distinct source."""
    sources = {}
    for version in versions:
        props = version.properties
        if props.get("dataset_description"):
            sources[props["dataset_description"]] = (
                props.get("dataset_train_size"), props.get("dataset_test_size"))  # fmt: skip
    lines = [f"- {text} ({train} train / {test} test images)"
             for text, (train, test) in sources.items()]  # fmt: skip
    return "\n".join(lines) or "- not recorded"


def deploy_section(model: RegisteredModel, versions: list[ModelVersion]) -> str:
    """The seed's curl that deploys the newest LIVE version in serving environment `local`."""
    live = [v for v in versions if v.state == "LIVE"]
    if not live:
        return "No LIVE version to deploy: restore one first."
    newest = live[-1]
    service = f"{model.name}-{newest.name}".lower().replace(".", "-")
    body = (f'{{"name": "{service}", "modelVersionId": "{newest.id}", '
            f'"runtime": "mmserver1", "registeredModelId": "{model.id}", '
            '"servingEnvironmentId": "\'"$ENV_ID"\'", "state": "DEPLOYED"}')  # fmt: skip
    return "\n".join([
        f"Deploy {newest.name} as the seed does (the model controller then loads it):",
        "",
        f'    ENV_ID=$(curl --silent "$MR_HOSTNAME{API}/serving_environment?name=local" '
        "| jq -r .id)",
        f'    curl -X POST "$MR_HOSTNAME{SEED_API}/serving_environments/'
        '$ENV_ID/inference_services" \\',
        "      -H 'Content-Type: application/json' \\",
        f"      -d '{body}'",
        "",
        "or press its Deploy button on the app's Registry page.",
    ])  # fmt: skip


def generated_card(model: RegisteredModel, versions: list[ModelVersion]) -> str:
    """The generated block of the readme, markers included."""
    sections = [
        GENERATED_BEGIN,
        f"## {model.name}: handwritten digit classifier",
        "",
        "Reads one 28×28 grayscale image (float32 0..1, ink high) and answers ten "
        "probabilities, one per digit 0–9 (ONNX, served over the Open Inference Protocol).",
        "",
        "### Data",
        data_section(versions),
        "",
        "## Versions",
        *[version_section(version) + "\n" for version in versions],
        "## Intended use and limitations",
        LIMITATIONS,
        "## How to deploy",
        deploy_section(model, versions),
        GENERATED_END,
    ]
    return "\n".join(sections)


def merged_readme(existing: str | None, generated: str) -> str:
    """`existing` with its generated block replaced by `generated` (appended when absent)."""
    text = existing or ""
    start, end = text.find(GENERATED_BEGIN), text.find(GENERATED_END)
    if start == -1 or end < start:
        return f"{text.rstrip()}\n\n{generated}\n" if text.strip() else f"{generated}\n"
    return text[:start] + generated + text[end + len(GENERATED_END) :]


def update_model_card(registry_url: str, model_name: str, timeout: float = 10.0) -> str:
    """Rewrite the generated block of `model_name`'s readme from the registry; return it."""
    with RegistryClient(registry_url, timeout=timeout) as registry:
        model = registry.find_registered_model(model_name)
        if model is None:
            raise ModelCardError(f"the registry has no registered model {model_name!r}")
        versions = registry.model_versions(model.id)
        readme = merged_readme(model.readme, generated_card(model, versions))
        registry.update_registered_model(model.id, {"readme": readme})
    return readme


def refresh_model_card(registry_url: str, model_name: str) -> str | None:
    """update_model_card, or None with a warning: the version is registered either way."""
    try:
        return update_model_card(registry_url, model_name)
    except (ModelCardError, RegistryError) as exc:
        warnings.warn(f"The model card (readme) of {model_name} was not updated: {exc}; "
                      "publish again to retry.", stacklevel=2)  # fmt: skip
        return None
