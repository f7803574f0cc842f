"""Train the MNIST models, export them to ONNX, record their dependencies, publish them.

Steps (each a public function, so notebooks and the pipeline call them one by one):
`data.load_mnist` → `models.train_model` → `models.evaluate_model` →
`export.export_model` → `publish.publish_model`.
"""

import os
from pathlib import Path

NVIDIA_DRIVER = Path("/proc/driver/nvidia")


def quiet_cuda_probe_on_cpu() -> None:
    """Without an NVIDIA driver, TensorFlow's import logs `failed call to cuInit` as a C++
    error (red in every notebook); TF_CPP_MIN_LOG_LEVEL=3 hides it. Python exceptions are
    unaffected, and a TF_CPP_MIN_LOG_LEVEL already set is kept. Runs before any TF import."""
    if not NVIDIA_DRIVER.exists():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


quiet_cuda_probe_on_cpu()
