"""Lineage of a trained model: which data, which parameters, how good it is."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from training.data import MnistData
from training.models import TrainingRun

LINEAGE_FILENAME = "lineage.json"


@dataclass(frozen=True)
class Lineage:
    """Dataset source and sizes, model kind, training parameters, time and test accuracy."""

    model_kind: str
    dataset_source: str
    dataset_description: str
    dataset_train_size: int
    dataset_test_size: int
    test_accuracy: float
    training_params: dict[str, Any] = field(default_factory=dict)
    training_seconds: float = 0.0

    @classmethod
    def from_run(cls, data: MnistData, run: TrainingRun, test_accuracy: float) -> Lineage:
        """Lineage of a model trained by `train_model` on `data` and scored by `evaluate_model`."""
        return cls(
            model_kind=run.kind,
            **data.summary(),
            test_accuracy=float(test_accuracy),
            training_params=asdict(run.params),
            training_seconds=round(run.seconds, 3),
        )

    def save(self, directory: Path) -> Path:
        """Write lineage.json into `directory` (e.g. the export directory, for a later step)."""
        path = Path(directory) / LINEAGE_FILENAME
        path.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        return path

    @classmethod
    def load(cls, directory: Path) -> Lineage:
        """Read the lineage.json that `save` wrote."""
        return cls(**json.loads((Path(directory) / LINEAGE_FILENAME).read_text()))
