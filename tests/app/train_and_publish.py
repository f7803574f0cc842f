"""Train the dense (v1) and CNN (v2) MNIST models, export them to ONNX and publish them.

Run by the app's end-to-end fixtures in a subprocess (TensorFlow stays out of the pytest
process); the app itself never imports `training`. Usage:

    python tests/app/train_and_publish.py EXPORT_DIR [--publish]

Exports go to EXPORT_DIR/dense and EXPORT_DIR/cnn and are reused when already there.
With --publish, both are uploaded to S3 and registered as MNIST v1 and v2, using the
MODEL_REGISTRY_URL and AWS_* environment variables. Prints one JSON line per model.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from training.data import MnistData, load_offline
from training.export import ExportedModel, export_model, heldout_batch
from training.lineage import Lineage
from training.models import evaluate_model, train_model
from training.publish import publish_model

VERSIONS = {"dense": "v1", "cnn": "v2"}


def exported(kind: str, data: MnistData, directory: Path) -> tuple[ExportedModel, Lineage]:
    """The export of a `kind` model in `directory`, training and exporting it when missing."""
    if (directory / "export.json").exists():
        return ExportedModel.load(directory), Lineage.load(directory)
    model, run = train_model(kind, data, verbose=0)
    images, labels = heldout_batch(data.x_test, data.test_labels)
    export = export_model(model, directory, images, labels)
    lineage = Lineage.from_run(data, run, evaluate_model(model, data))
    lineage.save(directory)
    return export, lineage


def main(argv: list[str]) -> None:
    export_dir = Path(argv[0])
    data = load_offline()
    for kind, version in VERSIONS.items():
        export, lineage = exported(kind, data, export_dir / kind)
        record = {"kind": kind, "onnx": str(export.onnx_path),
                  "test_accuracy": lineage.test_accuracy}  # fmt: skip
        if "--publish" in argv[1:]:
            published = publish_model(export, lineage, version=version, on_conflict="error")
            record["version"] = published.version
        print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
