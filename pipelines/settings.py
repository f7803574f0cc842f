"""Settings of `python -m pipelines.run`: one table, each with its flag, env var, default, help.

The shape every part shares (`contracts.settings`): a CLI flag beats an env var beats the
default. Resolved in `main()`, never at import.
S3 credentials are not settings: they stay in the environment (`AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`; demo values when unset), never on a command line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from contracts import defaults as contract
from contracts.settings import Setting, number, path, resolve, whole_number
from pipelines.params import InvalidParametersError, PipelineParams

DEMO_CREDENTIALS = {
    contract.env: contract.default
    for contract in (contract.S3_ACCESS_KEY, contract.S3_SECRET_KEY, contract.S3_REGION)
}

SETTINGS: tuple[Setting, ...] = (
    Setting("kind", "PIPELINE_MODEL_KIND", "dense", "Model to train: dense (v1) or cnn (v2)."),
    Setting("epochs", "PIPELINE_EPOCHS", "3", "Training epochs (1..1000).", whole_number),
    Setting("learning_rate", "PIPELINE_LEARNING_RATE", "0.001", "Adam learning rate (0..1].",
            number),
    Setting("min_accuracy", "PIPELINE_MIN_ACCURACY", "0.9",
            "Minimum test accuracy (0..1) the ONNX model needs to be registered.", number),
    Setting("model_name", "PIPELINE_MODEL_NAME", "MNIST",
            "RegisteredModel the new version is added to."),
    contract.REGISTRY_URL.setting("registry_url", "Model registry REST URL."),
    contract.S3_ENDPOINT.setting("s3_endpoint", "S3 endpoint the model is uploaded to."),
    contract.S3_BUCKET.setting("s3_bucket", "S3 bucket the model is uploaded to."),
    Setting("state_dir", "STATE_DIR", ".state",
            "State directory; local runs and their logs go to <state_dir>/pipeline-runs.", path),
)  # fmt: skip


@dataclass(frozen=True)
class RunSettings:
    """Everything one local run needs: the pipeline's parameters and where its files go."""

    params: PipelineParams
    pipeline_root: Path
    """`<state_dir>/pipeline-runs`: the local runs and their logs."""

    @classmethod
    def load(cls, overrides: Mapping[str, str | None] | None = None) -> RunSettings:
        """Resolve every setting: override (CLI) > environment > default; check the params."""
        try:
            values = resolve(SETTINGS, overrides or {})
        except ValueError as exc:
            raise InvalidParametersError([str(exc)]) from None
        state_dir = values.pop("state_dir")
        return cls(PipelineParams(**values).check(), state_dir / "pipeline-runs")


def credentials_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The AWS_* credential variables for the steps: the environment's, else the demo's."""
    return {name: environ.get(name) or demo for name, demo in DEMO_CREDENTIALS.items()}
