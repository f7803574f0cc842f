"""NVIDIA Triton Inference Server (the one inside the `nvidia-pytriton` wheel) serving one ONNX
model through an onnxruntime callable on CPU: the third peer of `bench.serving`'s gRPC cases.

Run by its own virtualenv, on Debian's Python 3.11 with numpy<2 (the wheel's Triton needs both):

    .bench/triton-venv/bin/python bench/peer_models/triton_model.py --model-path model.onnx \
        --model-name mnist --http-port 8000 --grpc-port 8001 --metrics-port 8002

PyTriton binds a Python function as a Triton model (`@batch`: Triton hands it the request's
rows as one numpy array per input); Triton itself (C++) answers HTTP and gRPC, and passes each
request to the function through shared memory. No dynamic batching (`max_batch_size` only
bounds a request's rows), like the other servers.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable

import numpy as np
import onnxruntime as ort
from pytriton.decorators import batch
from pytriton.model_config import ModelConfig, Tensor
from pytriton.triton import Triton, TritonConfig


def onnx_callable(path: str, threads: int) -> Callable[..., dict[str, np.ndarray]]:
    """The model as PyTriton calls it: a batch of `x` rows in, `probabilities` out."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])

    @batch
    def infer(x: np.ndarray) -> dict[str, np.ndarray]:
        (probabilities,) = session.run(["probabilities"], {"x": x})
        return {"probabilities": probabilities}

    return infer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-path", required=True, help="the ONNX file to serve")
    parser.add_argument("--model-name", default="mnist")
    parser.add_argument("--ort-threads", type=int, default=1, help="onnxruntime intra-op threads")
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--metrics-port", type=int, required=True)
    args = parser.parse_args()
    config = TritonConfig(http_address="127.0.0.1", http_port=args.http_port,
                          grpc_address="127.0.0.1", grpc_port=args.grpc_port,
                          metrics_port=args.metrics_port, allow_gpu_metrics=False)  # fmt: skip
    # SIGTERM (the benchmark stopping its servers) leaves through `with`: Triton.stop() then
    # stops tritonserver and PyTriton's workers, which the default action would orphan.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with Triton(config=config) as triton:
        triton.bind(
            model_name=args.model_name,
            infer_func=onnx_callable(args.model_path, args.ort_threads),
            inputs=[Tensor(name="x", dtype=np.float32, shape=(28, 28))],
            outputs=[Tensor(name="probabilities", dtype=np.float32, shape=(10,))],
            config=ModelConfig(max_batch_size=256),
        )
        triton.serve()


if __name__ == "__main__":
    main()
