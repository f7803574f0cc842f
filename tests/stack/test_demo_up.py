"""`make up` from a fresh state: every service healthy, one real prediction, `make down` clean."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from stack.proc import free_port, pid_alive
from stack.runner import read_pids
from stack.settings import StackSettings
from tests.notebooks.runner import run_notebook

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.server, pytest.mark.slow]


def demo_env(state_dir: Path) -> dict[str, str]:
    """Free ports for every service, so the test never touches a running demo."""
    return {
        **os.environ,
        "STATE_DIR": str(state_dir),
        "MODEL_REGISTRY_URL": f"http://localhost:{free_port()}",
        "SERVING_URL": f"http://localhost:{free_port()}",
        "SERVING_GRPC_PORT": str(free_port()),
        "AWS_S3_ENDPOINT": f"http://localhost:{free_port()}",
        "OCI_REGISTRY": f"localhost:{free_port()}",
        "APP_PORT": str(free_port()),
        "LAB_PORT": str(free_port()),
    }


def make(target: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", target], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)  # fmt: skip


def test_make_up_serves_a_prediction_then_make_down_stops_everything(tmp_path: Path) -> None:
    env = demo_env(tmp_path / "state")
    try:
        up = make("up", env, timeout=900)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "Time to first prediction" in up.stdout
        assert f"JupyterLab:           http://localhost:{env['LAB_PORT']}/lab?token=" in up.stdout
        assert f"gRPC (OIP v2):        localhost:{env['SERVING_GRPC_PORT']} " in up.stdout
        assert "`make down` stops every process" in up.stdout  # make demo's welcome, for make up
        settings = StackSettings.load({"state_dir": env["STATE_DIR"]})
        services = read_pids(settings)
        assert set(services) == {"s3", "oci", "registry", "serving", "controller", "app", "lab"}
        status = make("status", env, timeout=60)
        assert status.stdout.count(" ok ") == 8, status.stdout  # 7 services + serving's gRPC
        assert_seed_ids(env["MODEL_REGISTRY_URL"])
        assert_mnist_e2e_predicts(env["SERVING_URL"])
        assert_mnist_e2e_predicts_over_grpc(int(env["SERVING_GRPC_PORT"]))
        assert_served_from_its_modelcar(env["SERVING_URL"], env["OCI_REGISTRY"])
        assert_notebook_calls_the_deployed_model(env, services["lab"].pid, tmp_path)
    finally:
        down = make("down", env, timeout=120)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not any(pid_alive(s.pid) for s in services.values())
    assert not (tmp_path / "state" / "pids.json").exists()
    assert (tmp_path / "state" / "registry.db").exists()


def assert_notebook_calls_the_deployed_model(
    env: dict[str, str], lab_pid: int, tmp_path: Path
) -> None:
    """Notebook 4 finds mnist-e2e in the registry and gets the same answers over both protocols,
    at the SERVING_GRPC_URL the demo gave JupyterLab."""
    lab_env = dict(
        line.split("=", 1)
        for line in Path(f"/proc/{lab_pid}/environ").read_text().split("\0")
        if "=" in line
    )
    grpc_url = lab_env["SERVING_GRPC_URL"]
    assert grpc_url == f"localhost:{env['SERVING_GRPC_PORT']}"
    text = run_notebook("04_call_deployed_models", tmp_path, registry_url=env["MODEL_REGISTRY_URL"],
                        serving_url=env["SERVING_URL"], serving_grpc_url=grpc_url)  # fmt: skip
    assert "mnist-e2e: MNIST v2 (runtime mmserver1)" in text
    assert "mnist-e2e: ready over gRPC and over REST: True" in text
    assert "mnist-e2e: REST and gRPC agree on 256 digits: True" in text
    accuracy = float(text.split("; accuracy ")[1].split("%")[0])
    assert accuracy > 80, text
    assert "digit 0: label 7; mnist-e2e says " in text


def assert_seed_ids(registry_url: str) -> None:
    """The seed's ids although the three trainings ran at once (PUBLISH_AFTER kept the order)."""
    api = f"{registry_url}/api/model_registry/v1alpha3"
    ascending = {"orderBy": "ID", "sortOrder": "ASC"}
    versions = httpx.get(f"{api}/model_versions", params=ascending).json()["items"]
    assert [(v["id"], v["name"]) for v in versions] == [("3", "v1"), ("4", "v2"), ("5", "v3")]
    service = httpx.get(f"{api}/inference_service", params={"name": "mnist-e2e"}).json()
    assert (service["id"], service["modelVersionId"]) == ("6", "4")


def assert_served_from_its_modelcar(serving_url: str, oci_registry: str) -> None:
    """The demo's CNN (v2) is served from the modelcar publishing pushed, pinned by digest."""
    metadata = httpx.get(f"{serving_url}/v2/models/mnist-e2e", timeout=10).json()
    properties = metadata["properties"]
    assert properties["artifact_uri"] == f"oci://{oci_registry}/mnist:v2"
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    manifest = httpx.head(f"http://{oci_registry}/v2/mnist/manifests/v2", headers=accept)
    assert properties["modelcar_digest"] == manifest.headers["Docker-Content-Digest"]


def assert_mnist_e2e_predicts(serving_url: str) -> None:
    from stack.bootstrap import _first_test_digit

    image, label = _first_test_digit()
    body = {"inputs": [{"name": "x", "shape": [1, 28, 28], "datatype": "FP32", "data": image}]}
    response = httpx.post(f"{serving_url}/v2/models/mnist-e2e/infer", json=body, timeout=10)
    assert response.status_code == 200, response.text
    probabilities = response.json()["outputs"][0]["data"]
    assert len(probabilities) == 10
    assert max(range(10), key=lambda i: probabilities[i]) == label


def assert_mnist_e2e_predicts_over_grpc(port: int) -> None:
    """The serving contract's other half: `ModelInfer` on the gRPC port (tritonclient)."""
    import numpy as np
    import tritonclient.grpc as triton

    from stack.bootstrap import _first_test_digit

    image, label = _first_test_digit()
    tensor = triton.InferInput("x", [1, 28, 28], "FP32")
    tensor.set_data_from_numpy(np.asarray(image, np.float32).reshape(1, 28, 28))
    result = triton.InferenceServerClient(f"127.0.0.1:{port}").infer("mnist-e2e", [tensor])
    assert int(result.as_numpy("probabilities").argmax()) == label
