"""The gRPC half of `bench.serving`: ModelInfer bodies and h2load runs.

One C client drives both servers' gRPC ports (ours and KServe ModelServer's), so neither is
limited by a Python client: h2load (Debian package `nghttp2-client`) posts a pre-framed
unary `inference.GRPCInferenceService/ModelInfer` request (5-byte gRPC frame header + the
protobuf) over HTTP/2 with `content-type: application/grpc`. Inputs are raw little-endian
FP32 in `raw_input_contents`, as tritonclient sends them.

h2load sees HTTP status 200 for every gRPC answer, errors included (the gRPC status is in
the trailers, which carry no body): so a failure is counted from the body bytes, each good
answer being as long as the one the server gave in the check before the timed runs.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import grpc
import numpy as np
from tritonclient.grpc import service_pb2 as pb
from tritonclient.grpc import service_pb2_grpc as pb_grpc

from bench.processes import tool

METHOD = "/inference.GRPCInferenceService/ModelInfer"


@dataclass(frozen=True)
class GrpcCase:
    """One gRPC load: a framed ModelInfer request sent over `connections` connections."""

    name: str
    label: str
    connections: int
    rows: int
    body: Path


def infer_message(model: str, images: np.ndarray) -> pb.ModelInferRequest:
    tensor = pb.ModelInferRequest.InferInputTensor(name="x", datatype="FP32", shape=images.shape)
    request = pb.ModelInferRequest(model_name=model, inputs=[tensor])
    request.raw_input_contents.append(images.astype("<f4").tobytes())
    return request


def framed(message: bytes) -> bytes:
    """A gRPC length-prefixed message: not compressed, 4-byte big-endian length."""
    return b"\x00" + len(message).to_bytes(4, "big") + message


def grpc_cases(work: Path, model: str, images: np.ndarray) -> list[GrpcCase]:
    one, batch = work / "grpc1.body", work / "grpc256.body"
    one.write_bytes(framed(infer_message(model, images[:1]).SerializeToString()))
    batch.write_bytes(framed(infer_message(model, images[:256]).SerializeToString()))
    return [
        GrpcCase("grpc_c1", "gRPC raw, 1 image, 1 connection", 1, 1, one),
        GrpcCase("grpc_c32", "gRPC raw, 1 image, 32 connections", 32, 1, one),
        GrpcCase("grpc256_c1", "gRPC raw, 256 images, 1 connection", 1, 256, batch),
    ]


def check_grpc_answers(name: str, address: str, model: str, images: np.ndarray,
                       expected: np.ndarray) -> None:  # fmt: skip
    """A server's gRPC answer must match onnxruntime's before it is timed."""
    with grpc.insecure_channel(address) as channel:
        stub = pb_grpc.GRPCInferenceServiceStub(channel)
        try:
            response = stub.ModelInfer(infer_message(model, images), timeout=30)
        except grpc.RpcError as exc:
            raise SystemExit(f"{name} gRPC answered {exc.code().name}: {exc.details()}") from None
    output = response.outputs[0]
    if response.raw_output_contents:
        data = np.frombuffer(response.raw_output_contents[0], "<f4")
    else:
        data = np.asarray(output.contents.fp32_contents, np.float32)
    if not np.allclose(data.reshape(expected.shape), expected, atol=1e-5):
        raise SystemExit(f"{name}'s gRPC answers differ from onnxruntime's")


def h2load_binary() -> str:
    return tool("h2load", "nghttp2-client")


def h2load_command(h2load: str, address: str, case: GrpcCase, load: list[str],
                   log: Path) -> list[str]:  # fmt: skip
    return [h2load, *load, "-c", str(case.connections), "-m", "1", "-t", "1",
            "-d", str(case.body), "-H", "content-type: application/grpc", "-H", "te: trailers",
            "--log-file", str(log), f"http://{address}{METHOD}"]  # fmt: skip


def answer_bytes(h2load: str, address: str, case: GrpcCase) -> float:
    """Body bytes of one good answer (10 requests, after check_grpc_answers passed)."""
    with tempfile.TemporaryDirectory() as scratch:
        one = replace(case, connections=1)
        command = h2load_command(h2load, address, one, ["-n", "10"], Path(scratch) / "log")
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return data_bytes(output) / 10


def run_h2load(h2load: str, address: str, case: GrpcCase, seconds: int,
               good_answer_bytes: float) -> dict[str, float]:  # fmt: skip
    """requests, seconds, p50_us, p99_us, failures of one timed h2load run."""
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "requests.log"
        load = ["-D", str(seconds)]
        output = subprocess.run(h2load_command(h2load, address, case, load, log),
                                capture_output=True, text=True, check=True).stdout  # fmt: skip
        latencies = sorted(int(line.split("\t")[2]) for line in log.read_text().splitlines())
    done = len(latencies)
    good = round(data_bytes(output) / good_answer_bytes) if good_answer_bytes else 0
    return {"requests": done, "seconds": float(seconds),
            "p50_us": statistics.median(latencies) if latencies else 0.0,
            "p99_us": float(latencies[min(done - 1, int(done * 0.99))]) if latencies else 0.0,
            "failures": max(done - good, 0)}  # fmt: skip


def data_bytes(h2load_output: str) -> int:
    """The body bytes h2load received: `traffic: ... , <size> (<bytes>) data`."""
    line = next(line for line in h2load_output.splitlines() if line.startswith("traffic:"))
    return int(line.rsplit("(", 1)[1].split(")", 1)[0])
