"""Settings of `python -m pipelines.run`: one table, each with its flag, env var, default, help.

A CLI flag beats an env var beats the default. Resolved in `main()`, never at import.
S3 credentials are not settings: they stay in the environment (`AWS_ACCESS_KEY_ID`,
`AWS_SECRET_ACCESS_KEY`, `AWS_DEFAULT_REGION`; demo values when unset), never on a command line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.params import InvalidParametersError, PipelineParams

DEMO_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "demo-access-key",
    "AWS_SECRET_ACCESS_KEY": "demo-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class Setting:
    """One documented setting of the local pipeline runner."""

    name: str
    env: str
    default: str
    help: str
    convert: Callable[[str], Any] = str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("kind", "PIPELINE_MODEL_KIND", "dense", "Model to train: dense (v1) or cnn (v2)."),
    Setting("epochs", "PIPELINE_EPOCHS", "3", "Training epochs (1..1000).", int),
    Setting("learning_rate", "PIPELINE_LEARNING_RATE", "0.001", "Adam learning rate (0..1].",
            float),
    Setting("min_accuracy", "PIPELINE_MIN_ACCURACY", "0.9",
            "Minimum test accuracy (0..1) the ONNX model needs to be registered.", float),
    Setting("model_name", "PIPELINE_MODEL_NAME", "MNIST",
            "RegisteredModel the new version is added to."),
    Setting("registry_url", "MODEL_REGISTRY_URL", "http://localhost:8080",
            "Model registry REST URL."),
    Setting("s3_endpoint", "AWS_S3_ENDPOINT", "http://localhost:9000",
            "S3 endpoint the model is uploaded to."),
    Setting("s3_bucket", "AWS_S3_BUCKET", "models", "S3 bucket the model is uploaded to."),
    Setting("state_dir", "STATE_DIR", ".state",
            "State directory; local runs and their logs go to <state_dir>/pipeline-runs.", Path),
)  # fmt: skip


@dataclass(frozen=True)
class RunSettings:
    """Everything one local run needs: the pipeline's parameters and where its files go."""

    params: PipelineParams
    state_dir: Path

    @property
    def pipeline_root(self) -> Path:
        return self.state_dir / "pipeline-runs"

    @classmethod
    def load(cls, overrides: Mapping[str, str | None] | None = None) -> RunSettings:
        """Resolve every setting: override (CLI) > environment > default; check the params."""
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        values = {s.name: convert(s, given.get(s.name, os.environ.get(s.env, s.default)))
                  for s in SETTINGS}  # fmt: skip
        state_dir = values.pop("state_dir")
        return cls(PipelineParams(**values).check(), state_dir)


def convert(setting: Setting, raw: str) -> Any:
    """`raw` as the setting's type, or InvalidParametersError naming the flag and env var."""
    try:
        return setting.convert(raw.strip())
    except ValueError:
        kind = "a whole number" if setting.convert is int else "a number"
        raise InvalidParametersError(
            [f"{setting.flag} / {setting.env} must be {kind} (got {raw!r})"]
        ) from None


def credentials_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The AWS_* credential variables for the steps: the environment's, else the demo's."""
    return {name: environ.get(name) or demo for name, demo in DEMO_CREDENTIALS.items()}
