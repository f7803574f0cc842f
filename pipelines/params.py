"""The pipeline's run parameters and the checks they must pass before anything runs.

The same checks run twice: in `python -m pipelines.run` before the local run starts, and in
the first step of the pipeline, so a run submitted to a cluster from its UI fails in seconds
with the same sentence rather than after training.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any

from contracts.defaults import REGISTRY_URL
from training.models import MODEL_KINDS

PIPELINE_NAME = "mnist-train-validate-register"
MAX_EPOCHS = 1000
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\Z")
DEFAULT_DATA_CONNECTION = "aws-connection-models"


class InvalidParametersError(ValueError):
    """One or more run parameters are out of range; the message lists every problem."""

    exit_code = 2

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid pipeline parameters: " + "; ".join(problems) + ".")


@dataclass(frozen=True)
class PipelineParams:
    """What one run of the pipeline trains, the bar it must pass, and where it publishes."""

    kind: str = "dense"
    epochs: int = 3
    learning_rate: float = 1e-3
    min_accuracy: float = 0.9
    model_name: str = "MNIST"
    registry_url: str = REGISTRY_URL.default
    s3_endpoint: str = ""
    s3_bucket: str = ""
    data_connection: str = DEFAULT_DATA_CONNECTION

    def problems(self) -> list[str]:
        """Every violated rule as one short sentence ([] when the parameters are fine)."""
        return [
            *training_problems(self.kind, self.epochs, self.learning_rate, self.min_accuracy),
            *location_problems(
                self.model_name, self.registry_url, self.s3_endpoint, self.s3_bucket
            ),
        ]

    def check(self) -> PipelineParams:
        """Return self, or raise InvalidParametersError naming every problem."""
        problems = self.problems()
        if problems:
            raise InvalidParametersError(problems)
        return self

    def as_arguments(self) -> dict[str, Any]:
        """The pipeline's arguments (its parameter names are these field names)."""
        return asdict(self)


def training_problems(
    kind: str, epochs: int, learning_rate: float, min_accuracy: float
) -> list[str]:
    """Problems with what to train and the accuracy bar."""
    problems = []
    if kind not in MODEL_KINDS:
        problems.append(f"kind {kind!r} is unknown, choose one of {', '.join(MODEL_KINDS)}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= MAX_EPOCHS:
        problems.append(f"epochs must be a whole number from 1 to {MAX_EPOCHS} (got {epochs!r})")
    if not (math.isfinite(learning_rate) and 0 < learning_rate <= 1):
        problems.append(f"learning rate must be above 0 and at most 1 (got {learning_rate!r})")
    if not (math.isfinite(min_accuracy) and 0 <= min_accuracy <= 1):
        problems.append(f"minimum accuracy must be between 0 and 1 (got {min_accuracy!r})")
    return problems


def location_problems(model_name: str, registry_url: str, endpoint: str, bucket: str) -> list[str]:
    """Problems with where the model is registered and stored ('' = from the environment)."""
    problems = []
    if not model_name.strip():
        problems.append("model name must not be empty")
    if not is_http_url(registry_url):
        problems.append(f"registry URL must start with http:// or https:// (got {registry_url!r})")
    if endpoint and not is_http_url(endpoint):
        problems.append(f"S3 endpoint must start with http:// or https:// (got {endpoint!r})")
    if bucket and not BUCKET_NAME.match(bucket):
        problems.append(
            f"S3 bucket {bucket!r} is not a valid bucket name "
            "(3-63 lowercase letters, digits, dots or hyphens)"
        )
    return problems


def is_http_url(url: str) -> bool:
    return re.match(r"^https?://[^\s/]+", url) is not None
