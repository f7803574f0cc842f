"""Train the benchmark CNN with `training` and export it: `python -m bench.train_cnn DIR`.

3 epochs on the offline MNIST sample (about 30 s on 2 cores); writes DIR/model.onnx and the
rest of training's export (golden.npz, export.json, requirements.txt).
"""

from __future__ import annotations

import sys
from pathlib import Path

from training.data import load_mnist
from training.export import export_model, heldout_batch
from training.models import TrainingParams, evaluate_model, train_model


def main() -> None:
    data = load_mnist(allow_download=False)
    model, _ = train_model("cnn", data, TrainingParams(epochs=3), verbose=0)
    images, labels = heldout_batch(data.x_test, data.test_labels)
    export_model(model, Path(sys.argv[1]), images, labels)
    print(f"test accuracy {evaluate_model(model, data):.3f}")


if __name__ == "__main__":
    main()
