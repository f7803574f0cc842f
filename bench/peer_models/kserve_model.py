"""KServe's Python ModelServer serving one ONNX model: the peer of `bench.serving`.

Run by the benchmark's own virtualenv (kserve installed there, never in the project's):

    .bench/kserve-venv/bin/python bench/peer_models/kserve_model.py --model-path model.onnx \
        --model_name mnist --http_port 8080 --workers 1

A custom `kserve.Model` as KServe's docs write one: `load()` builds an onnxruntime session,
`predict()` takes the decoded `InferRequest`, runs the session and returns an `InferResponse`
(binary outputs when the request asks for them). KServe's own flags (`--http_port`,
`--workers`, ...) are parsed by KServe at import time; `--model-path` and `--ort-threads`
are ours.
"""

from __future__ import annotations

import argparse
from typing import Any

import kserve
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer


class OnnxModel(Model):
    """One onnxruntime session behind KServe's v2 data plane."""

    def __init__(self, name: str, path: str, threads: int) -> None:
        super().__init__(name)
        self.path = path
        self.threads = threads
        self.session: ort.InferenceSession | None = None
        self.load()

    def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(
            self.path, sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.ready = True
        return self.ready

    def predict(
        self, payload: InferRequest, headers: dict[str, str] | None = None
    ) -> InferResponse:
        assert self.session is not None
        feeds = {tensor.name: tensor.as_numpy() for tensor in payload.inputs}
        names = [output.name for output in self.session.get_outputs()]
        arrays = self.session.run(names, feeds)
        outputs = []
        for name, array in zip(names, arrays, strict=True):
            output = InferOutput(name, list(array.shape), "FP32")
            output.set_data_from_numpy(array, binary_data=payload.use_binary_outputs)
            outputs.append(output)
        return InferResponse(
            response_id=payload.id or "",
            model_name=self.name,
            infer_outputs=outputs,
            use_binary_outputs=payload.use_binary_outputs,
            requested_outputs=payload.request_outputs,
        )


def main() -> None:
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--model-path", required=True, help="the ONNX file to serve")
    parser.add_argument("--ort-threads", type=int, default=1, help="onnxruntime intra-op threads")
    args: Any = parser.parse_args()
    model = OnnxModel(args.model_name, args.model_path, args.ort_threads)
    ModelServer(workers=args.workers).start([model])


if __name__ == "__main__":
    main()
