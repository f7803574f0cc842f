"""Benchmark the inference server against KServe's Python ModelServer (and Triton on gRPC).

    python -m bench.serving                  # about 2 minutes
    python -m bench.serving --duration 3 --rounds 1

Both servers serve the same ONNX file, a CNN trained by `training` (`bench.train_cnn`,
into `.bench/cnn/` on first use: 3 epochs on the offline MNIST sample, about 30 s), with one
onnxruntime intra-op thread (ours runs requests over 64 rows on a second session with one
thread per core, its default), and are driven by the same client, wrk (Debian package
`wrk`, script `bench/wrk_post.lua`), with the same request bodies:

- one real MNIST digit as OIP JSON (FP32, flat `data`), over 1 and over 32 connections;
- 256 digits in one request with the binary tensor data extension (raw little-endian FP32
  after the JSON header, `Inference-Header-Content-Length`; binary output asked for), over
  1 connection. KServe 0.21 reads the binary extension too, so both get the same bytes.

and on both servers' gRPC ports (OIP v2 `ModelInfer`, raw FP32 in `raw_input_contents`) by
one C client, h2load (Debian package `nghttp2-client`; `bench.serving_grpc`): one digit
over 1 and over 32 connections, 256 digits over 1 connection.

Rounds alternate between the servers so that load from other processes on the machine hits
both alike; the table shows the median over rounds, and each server's CPU time per request
(which load from other processes disturbs less than throughput). Raw onnxruntime
`session.run`, in this process with the session options ours uses for each size (but
onnxruntime's default of intra-op threads spinning between runs, which ours stops), is measured
in the same run, for the batch ratio: its 256-image rate at the start of every round (the
median is reported), so the ratio compares figures taken under the same machine load.

Ours loads its model the way it always does, from S3: a SeaweedFS server is started for the
run. KServe 0.21 is installed with uv into its own virtualenv (`--kserve-venv`, created on
first use) so it never mixes with the project's dependencies; its model is the custom
`kserve.Model` in `bench/peer_models/kserve_model.py`, run with 1 worker, gRPC on and, like
ours, no log line per request (KServe's defaults write two: `--kserve-logging` keeps them,
which costs it about 20%); otherwise KServe's defaults (it listens on 0.0.0.0, which it does
not let one change).

A third peer joins the gRPC cases (a table of its own): NVIDIA Triton, the tritonserver that
ships inside the `nvidia-pytriton` wheel, serving the same file through a PyTriton
onnxruntime callable on CPU (`bench/peer_models/triton_model.py`, one intra-op thread). Its
virtualenv (`--triton-venv`) is built on Debian's Python 3.11 (`--triton-python`; the
tritonserver in the wheel needs it, not a pyenv build) with numpy<2; `--no-triton` leaves it
out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from contextlib import AbstractContextManager, ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime as ort

from bench import BENCH
from bench.report import load_average, save_last_run
from bench.serving_grpc import (
    GrpcCase,
    answer_bytes,
    check_grpc_answers,
    grpc_cases,
    h2load_binary,
    run_h2load,
)
from bench.serving_report import header, median_result, table, targets
from bench.serving_rest import (
    MODEL,
    Case,
    Result,
    Server,
    cases,
    check_answers,
    run_wrk,
    test_images,
    wrk_binary,
)
from bench.serving_servers import ensure_kserve, ensure_model, ensure_triton, kserve, ours, triton
from serving.model import session_options


@dataclass
class Runner:
    """Runs one case on one server: wrk on the REST port, h2load on the gRPC port."""

    wrk: str
    h2load: str
    answer_sizes: dict[tuple[str, str], float] = field(default_factory=dict)

    def __call__(self, server: Server, case: Case | GrpcCase, seconds: int) -> Result:
        if isinstance(case, Case):
            return run_wrk(self.wrk, server, case, seconds)
        key = (server.name, case.name)
        if key not in self.answer_sizes:
            self.answer_sizes[key] = answer_bytes(self.h2load, server.grpc_address, case)
        cpu_before = server.cpu_seconds()
        n = run_h2load(self.h2load, server.grpc_address, case, seconds, self.answer_sizes[key])
        cpu = server.cpu_seconds() - cpu_before
        return Result(int(n["requests"]), n["seconds"], n["p50_us"], n["p99_us"],
                      int(n["failures"]), cpu)  # fmt: skip


def measure(run: Runner, servers: list[Server], load: list[Case | GrpcCase], rounds: int,
            seconds: int, raw: RawOnnxruntime) -> dict[str, dict[str, list[Result]]]:  # fmt: skip
    """results[case][server] over `rounds` rounds, servers alternating within each case;
    raw onnxruntime's batch rate is measured at the start of each round."""
    results: dict[str, dict[str, list[Result]]] = {c.name: {} for c in load}
    for case in load:
        for server in servers:
            if server.serves(case):
                run(server, case, 1)  # warm-up
    for number in range(rounds):
        print(f"round {number + 1}/{rounds}...", flush=True)
        raw.measure_batch()
        for case in load:
            for server in servers[:: 1 if number % 2 == 0 else -1]:
                if not server.serves(case):
                    continue
                results[case.name].setdefault(server.name, []).append(run(server, case, seconds))
    return results


class RawOnnxruntime:
    """session.run in this process, with the session options ours uses for each size but
    onnxruntime's default of intra-op threads that go on spinning between runs (its fastest
    alone)."""

    def __init__(self, model: Path, images: np.ndarray, threads: tuple[int, int]) -> None:
        self.small, self.large = (
            ort.InferenceSession(str(model), session_options(count, spin_between_runs=True),
                                 providers=["CPUExecutionProvider"])
            for count in threads
        )  # fmt: skip
        self.images = images
        self.batch_rates: list[float] = []

    def single_p50_us(self) -> float:
        single = [timed(self.small, self.images[:1]) for _ in range(3000)][500:]
        return statistics.median(single) * 1e6

    def measure_batch(self) -> None:
        """256-image images/s (median of 50 runs); called once a round, beside the servers'
        runs, so the batch share compares figures taken under the same machine load."""
        batch = [timed(self.large, self.images[:256]) for _ in range(60)][10:]
        self.batch_rates.append(256 / statistics.median(batch))

    def summary(self) -> dict[str, float]:
        return {"single_p50_us": self.single_p50_us(),
                "batch_images_per_second": statistics.median(self.batch_rates),
                "batch_rounds": len(self.batch_rates)}  # fmt: skip


def timed(session: ort.InferenceSession, images: np.ndarray) -> float:
    started = time.perf_counter()
    session.run(["probabilities"], {"x": images})
    return time.perf_counter() - started


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case and server")
    parser.add_argument("--ort-threads", type=int, default=1, help="intra-op threads, both")
    parser.add_argument("--ort-threads-large", type=int, default=0,
                        help="ours: threads for runs over 64 rows (0 = per core)")  # fmt: skip
    parser.add_argument("--model", type=Path, help="ONNX file (default: train .bench/cnn)")
    parser.add_argument("--work-dir", type=Path, default=BENCH / "serving")
    parser.add_argument("--kserve-venv", type=Path, default=BENCH / "kserve-venv")
    parser.add_argument("--kserve-spec", default="kserve==0.21.*", help="what uv installs")
    parser.add_argument("--kserve-logging", action="store_true",
                        help="keep KServe's log lines per request (~20%% slower)")  # fmt: skip
    parser.add_argument("--triton-venv", type=Path, default=BENCH / "triton-venv")
    parser.add_argument("--triton-spec", default="nvidia-pytriton==0.7.*", help="what uv installs")
    parser.add_argument("--triton-python", default="/usr/bin/python3.11",
                        help="the interpreter Triton's virtualenv is built on")  # fmt: skip
    parser.add_argument("--no-triton", action="store_true", help="leave Triton (gRPC) out")
    parser.add_argument("--ours-arg", action="append", default=[],
                        help="extra flag for `python -m serving` (repeatable)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    return parser.parse_args(argv)


def started_servers(args: argparse.Namespace, model: Path) -> list[AbstractContextManager[Server]]:
    """Ours, KServe and (unless --no-triton) Triton, to be entered in this order."""
    work, threads = args.work_dir, (args.ort_threads, args.ort_threads_large)
    servers: list[AbstractContextManager[Server]] = [
        ours(work, model, threads, args.ours_arg),
        kserve(work, model, args.kserve_venv, args.ort_threads, args.kserve_logging),
    ]
    if not args.no_triton:
        servers.append(triton(work, model, args.triton_venv, args.ort_threads))
    return servers


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    load_before = load_average()
    run = Runner(wrk_binary(), h2load_binary())
    model = args.model or ensure_model(BENCH / "cnn")
    names = {"KServe": f"KServe {ensure_kserve(args.kserve_venv, args.kserve_spec)}"}
    if not args.no_triton:
        version = ensure_triton(args.triton_venv, args.triton_spec, args.triton_python)
        names["Triton"] = f"Triton (nvidia-pytriton {version})"
    shutil.rmtree(args.work_dir, ignore_errors=True)
    args.work_dir.mkdir(parents=True)
    images = test_images(256)
    threads = (args.ort_threads, args.ort_threads_large)
    raw_runs = RawOnnxruntime(model, images, threads)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    expected = session.run(["probabilities"], {"x": images[:8]})[0]
    load: list[Case | GrpcCase] = [
        *cases(args.work_dir, images),
        *grpc_cases(args.work_dir, MODEL, images),
    ]
    with ExitStack() as stack:
        servers = [stack.enter_context(server) for server in started_servers(args, model)]
        for server in servers:
            if server.rest:
                check_answers(server, images[:8], expected)
            check_grpc_answers(server.name, server.grpc_address, MODEL, images[:8], expected)
        results = measure(run, servers, load, args.rounds, args.duration, raw_runs)
    raw = raw_runs.summary()
    summary = {case: {name: median_result(rs) for name, rs in by.items()}
               for case, by in results.items()}  # fmt: skip
    lines = [*header(args, model, load_before), *table(summary, load, raw, names), "",
             "Targets (issue 9, REST):",
             *targets(summary, raw, ("json_c32", "json_c1", "binary256_c1"), 500, 0.5), "",
             "Targets (issue 24, gRPC):",
             *targets(summary, raw, ("grpc_c32", "grpc_c1", "grpc256_c1"), 300, 0.7)]  # fmt: skip
    failures = sum(s["failures"] for by in summary.values() for s in by.values())
    if failures:
        lines.append(f"\nWARNING: {failures} requests failed or got non-2xx answers")
    print("\n".join(lines))
    save_last_run("serving", "\n".join(lines))
    if args.json:
        numbers = {"summary": summary, "raw_onnxruntime": raw,
                   "runs": {c: {s: [asdict(r) for r in rs] for s, rs in by.items()}
                            for c, by in results.items()}}  # fmt: skip
        args.json.write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
