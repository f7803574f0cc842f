"""KServe's stock `InferenceGRPCClient` (kserve 0.21, in its own virtualenv made with uv, as
`make bench-serving` makes it) against a real server process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from grpc_support import TOKEN, Servers, module_servers

from bench.peers import ensure_peer_venv

pytestmark = pytest.mark.server
REPO = Path(__file__).resolve().parents[2]
CLIENT = Path(__file__).with_name("kserve_grpc_client.py")
KSERVE_SPEC = "kserve==0.21.*"


def kserve_python() -> Path:
    """KServe's virtualenv (`.bench/kserve-venv`, shared with the benchmark; built on first use)."""
    packages = [KSERVE_SPEC, f"onnxruntime=={ort.__version__}", f"numpy=={np.__version__}"]
    return ensure_peer_venv(REPO / ".bench" / "kserve-venv", packages)


servers = module_servers("digits", "trained_model_bytes", "4")


def run_kserve_client(servers: Servers, images: np.ndarray, tmp_path: Path) -> dict[str, Any]:
    np.save(tmp_path / "images.npy", images)
    command = [str(kserve_python()), str(CLIENT), servers.address, "digits",
               str(tmp_path / "images.npy"), TOKEN]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_kserve_inference_grpc_client_works_unchanged(
    servers: Servers, mnist_digits: tuple[np.ndarray, np.ndarray], trained_model_bytes: bytes,
    tmp_path: Path,
) -> None:  # fmt: skip
    images = mnist_digits[0][:4]
    report = run_kserve_client(servers, images, tmp_path)
    session = ort.InferenceSession(trained_model_bytes, providers=["CPUExecutionProvider"])
    (expected,) = session.run(["probabilities"], {"x": images})
    assert (report["live"], report["ready"], report["model_ready"]) == (True, True, True)
    for form in ("typed", "raw"):
        answer = report[form]
        assert (answer["id"], answer["name"], answer["shape"]) == (
            f"k-{form}", "probabilities", [4, 10])  # fmt: skip
        np.testing.assert_allclose(np.reshape(answer["data"], (4, 10)), expected, atol=1e-6)
    assert (report["platform"], report["inputs"], report["server"]) == (
        "onnx_onnxv1", [[-1, 28, 28]], "serving")  # fmt: skip
    assert report["unloaded"] == ["digits", True]
    assert report["ready_after_unload"] is False
    assert report["loaded"] == ["digits", True]
    assert servers.triton().is_model_ready("digits")
