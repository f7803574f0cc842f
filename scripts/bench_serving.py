"""Benchmark the inference server against KServe's Python ModelServer, side by side.

    python scripts/bench_serving.py                  # about 2 minutes
    python scripts/bench_serving.py --duration 3 --rounds 1

Both servers serve the same ONNX file, a CNN trained by `training` (`bench/train_cnn.py`,
into `.bench/cnn/` on first use: 3 epochs on the offline MNIST sample, about 30 s), with one
onnxruntime intra-op thread (ours runs requests over 64 rows on a second session with one
thread per core, its default), and are driven by the same client, wrk (Debian package
`wrk`, script `bench/wrk_post.lua`), with the same request bodies:

- one real MNIST digit as OIP JSON (FP32, flat `data`), over 1 and over 32 connections;
- 256 digits in one request with the binary tensor data extension (raw little-endian FP32
  after the JSON header, `Inference-Header-Content-Length`; binary output asked for), over
  1 connection. KServe 0.21 reads the binary extension too, so both get the same bytes.

and on both servers' gRPC ports (OIP v2 `ModelInfer`, raw FP32 in `raw_input_contents`) by
one C client, h2load (Debian package `nghttp2-client`; `scripts/bench_grpc.py`): one digit
over 1 and over 32 connections, 256 digits over 1 connection.

Rounds alternate between the servers so that load from other processes on the machine hits
both alike; the table shows the median over rounds, and each server's CPU time per request
(which load from other processes disturbs less than throughput). Raw onnxruntime
`session.run`, in this process with the session options ours uses for each size, is measured
in the same run, for the batch ratio.

Ours loads its model the way it always does, from S3: a SeaweedFS server is started for the
run. KServe 0.21 is installed with uv into its own virtualenv (`--kserve-venv`, created on
first use) so it never mixes with the project's dependencies; its model is the custom
`kserve.Model` in `bench/kserve_model.py`, run with 1 worker, gRPC on and, like ours, no log
line per request (KServe's defaults write two: `--kserve-logging` keeps them, which costs
it about 20%); otherwise KServe's defaults (it listens on 0.0.0.0, which it does not let one
change).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import onnxruntime as ort
from bench_grpc import (
    GrpcCase,
    answer_bytes,
    check_grpc_answers,
    grpc_cases,
    h2load_binary,
    run_h2load,
)
from peer_venv import ensure_peer_venv

from serving.model import session_options
from serving.names import model_path, repository_path
from stack.proc import ServiceProcess, free_port, http_ok
from stack.seaweed import S3Settings, running_seaweed, s3_endpoint
from training.data import REPO_TEST_DIR, read_idx_split

REPO = Path(__file__).resolve().parent.parent
BENCH = REPO / ".bench"
MODEL = "mnist"
INFER = model_path(MODEL, "infer")
WRK_SCRIPT = REPO / "bench" / "wrk_post.lua"


@dataclass(frozen=True)
class Case:
    """One load: a request body sent over `connections` keep-alive connections."""

    name: str
    label: str
    connections: int
    rows: int
    body: Path
    header_length: int | None = None

    def environment(self) -> dict[str, str]:
        """What bench/wrk_post.lua reads."""
        if self.header_length is None:
            return {**os.environ, "BODY_FILE": str(self.body), "CONTENT_TYPE": "application/json"}
        return {**os.environ, "BODY_FILE": str(self.body), "HEADER_LENGTH": str(self.header_length),
                "CONTENT_TYPE": "application/octet-stream"}  # fmt: skip


@dataclass(frozen=True)
class Result:
    """What wrk measured for one case on one server in one round, plus the server's CPU time."""

    requests: int
    seconds: float
    p50_us: float
    p99_us: float
    failures: int
    cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_seconds / max(self.requests, 1) * 1e6


@dataclass(frozen=True)
class Server:
    name: str
    url: str
    pid: int
    grpc_address: str = ""

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (all its threads)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- environment -------------------------------------------------------------------------


def ensure_model(directory: Path) -> Path:
    """The benchmark CNN, trained and exported by `training` on first use."""
    path = directory / "model.onnx"
    if path.exists():
        return path
    print(f"training a CNN into {directory} (first run only, about 30 s)...", flush=True)
    directory.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with (directory / "train.log").open("w") as log:
        command = [sys.executable, str(REPO / "bench" / "train_cnn.py"), str(directory)]
        subprocess.run(command, cwd=REPO, env={**environment, "PYTHONPATH": str(REPO)},
                       stdout=log, stderr=log, check=True)  # fmt: skip
    return path


def ensure_kserve(venv: Path, spec: str) -> str:
    """KServe in its own virtualenv (created with uv on first use); returns its version."""
    packages = [spec, f"onnxruntime=={ort.__version__}", f"numpy=={np.__version__}"]
    python = ensure_peer_venv(venv, packages)
    version = "import importlib.metadata as m; print(m.version('kserve'))"
    return subprocess.check_output([str(python), "-c", version], text=True).strip()


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk not found: install it with `apt-get install wrk`")
    return found


# --- servers -----------------------------------------------------------------------------


@contextmanager
def running(name: str, command: list[str], port: int, ready: str, log: Path,
            env: dict[str, str] | None = None, grpc_port: int = 0) -> Iterator[Server]:  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    health = lambda: http_ok(url + ready)  # noqa: E731
    process = ServiceProcess(name, command, log, health, env=env, cwd=REPO)
    with process.start():
        process.wait_healthy(timeout=120)
        assert process.pid is not None
        yield Server(name, url, process.pid, f"127.0.0.1:{grpc_port}")


@contextmanager
def seaweed_with_model(work: Path, model: Path) -> Iterator[tuple[S3Settings, str]]:
    """A SeaweedFS S3 server holding `model`; yields its settings and the model's URI."""
    import boto3

    with running_seaweed(work / "s3") as process:
        s3 = S3Settings(endpoint=s3_endpoint(process))
        client = boto3.client(
            "s3", endpoint_url=s3.endpoint, aws_access_key_id=s3.access_key,
            aws_secret_access_key=s3.secret_key, region_name=s3.region,
        )  # fmt: skip
        client.put_object(Bucket=s3.bucket, Key=f"{MODEL}/1/model.onnx", Body=model.read_bytes())
        yield s3, f"s3://{s3.bucket}/{MODEL}/1/model.onnx"


@contextmanager
def ours(work: Path, model: Path, threads: tuple[int, int], extra: list[str]) -> Iterator[Server]:
    with seaweed_with_model(work, model) as (s3, uri):
        port, grpc_port = free_port(), free_port()
        command = [sys.executable, "-m", "serving", "--port", str(port), "--ort-threads",
                   str(threads[0]), "--ort-threads-large", str(threads[1]),
                   "--grpc-port", str(grpc_port), "--log-level", "warning", *extra]  # fmt: skip
        with running("ours", command, port, "/v2/health/ready", work / "ours.log",
                     s3.as_env(), grpc_port) as server:  # fmt: skip
            sha256 = hashlib.sha256(model.read_bytes()).hexdigest()
            body = {"parameters": {"uri": uri, "sha256": sha256}}
            url = server.url + repository_path(MODEL, "load")
            httpx.post(url, json=body, timeout=60).raise_for_status()
            yield server


@contextmanager
def kserve(work: Path, model: Path, venv: Path, threads: int, logging: bool) -> Iterator[Server]:
    port, grpc_port = free_port(), free_port()
    command = [str(venv / "bin" / "python"), str(REPO / "bench" / "kserve_model.py"),
               "--model-path", str(model), "--ort-threads", str(threads),
               "--model_name", MODEL, "--http_port", str(port), "--workers", "1",
               "--grpc_port", str(grpc_port)]  # fmt: skip
    if not logging:  # like ours: no log line per request
        command += ["--enable_latency_logging", "false", "--configure_logging", "false"]
    ready, log = model_path(MODEL, "ready"), work / "kserve.log"
    with running("KServe", command, port, ready, log, None, grpc_port) as server:
        yield server


# --- requests ----------------------------------------------------------------------------


def test_images(count: int) -> np.ndarray:
    """Real MNIST test digits as FP32 [count, 28, 28] in 0..1."""
    images, _ = read_idx_split(REPO_TEST_DIR, "t10k")
    return (images[:count].astype(np.float32) / 255.0).astype(np.float32)


def json_body(images: np.ndarray) -> bytes:
    tensor = {"name": "x", "shape": list(images.shape), "datatype": "FP32",
              "data": images.ravel().tolist()}  # fmt: skip
    return json.dumps({"inputs": [tensor]}).encode()


def binary_body(images: np.ndarray) -> tuple[bytes, int]:
    """JSON header + raw FP32 tensor, and the header's length."""
    raw = images.astype("<f4").tobytes()
    tensor = {"name": "x", "shape": list(images.shape), "datatype": "FP32",
              "parameters": {"binary_data_size": len(raw)}}  # fmt: skip
    output = {"name": "probabilities", "parameters": {"binary_data": True}}
    head = json.dumps({"inputs": [tensor], "outputs": [output]}).encode()
    return head + raw, len(head)


def cases(work: Path, images: np.ndarray) -> list[Case]:
    one = work / "json1.body"
    one.write_bytes(json_body(images[:1]))
    batch, header_length = binary_body(images[:256])
    (work / "binary256.body").write_bytes(batch)
    return [
        Case("json_c1", "JSON, 1 image, 1 connection", 1, 1, one),
        Case("json_c32", "JSON, 1 image, 32 connections", 32, 1, one),
        Case("binary256_c1", "binary, 256 images, 1 connection", 1, 256,
             work / "binary256.body", header_length),
    ]  # fmt: skip


def check_answers(server: Server, images: np.ndarray, expected: np.ndarray) -> None:
    """Both servers must answer like onnxruntime before they are timed."""
    headers = {"Content-Type": "application/json"}
    response = httpx.post(
        server.url + INFER, content=json_body(images), headers=headers, timeout=30
    )
    if response.status_code != 200:
        raise SystemExit(f"{server.name} answered {response.status_code}: {response.text}")
    data = np.asarray(response.json()["outputs"][0]["data"], np.float32).reshape(-1, 10)
    if not np.allclose(data, expected, atol=1e-5):
        raise SystemExit(f"{server.name} answers differ from onnxruntime's")


# --- measuring ---------------------------------------------------------------------------


def run_wrk(wrk: str, server: Server, case: Case, seconds: int) -> Result:
    command = [wrk, "-t1", f"-c{case.connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(WRK_SCRIPT), server.url + INFER]  # fmt: skip
    cpu_before = server.cpu_seconds()
    run = subprocess.run(command, capture_output=True, text=True, check=True,
                         env=case.environment())  # fmt: skip
    output = run.stdout
    cpu = server.cpu_seconds() - cpu_before
    line = next(line for line in output.splitlines() if line.startswith('{"requests"'))
    return Result(**json.loads(line), cpu_seconds=cpu)


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
            seconds: int) -> dict[str, dict[str, list[Result]]]:  # fmt: skip
    """results[case][server] over `rounds` rounds, servers alternating within each case."""
    results: dict[str, dict[str, list[Result]]] = {c.name: {} for c in load}
    for case in load:
        for server in servers:
            run(server, case, 1)  # warm-up
    for number in range(rounds):
        print(f"round {number + 1}/{rounds}...", flush=True)
        for case in load:
            for server in servers[:: 1 if number % 2 == 0 else -1]:
                results[case.name].setdefault(server.name, []).append(run(server, case, seconds))
    return results


def raw_onnxruntime(model: Path, images: np.ndarray, threads: tuple[int, int]) -> dict[str, float]:
    """session.run in this process, with the session options ours uses for each size:
    1-image p50, and 256-image images/s (medians)."""
    small, large = (ort.InferenceSession(str(model), session_options(count),
                                         providers=["CPUExecutionProvider"])
                    for count in threads)  # fmt: skip
    single = [timed(small, images[:1]) for _ in range(3000)][500:]
    batch = [timed(large, images[:256]) for _ in range(60)][10:]
    return {"single_p50_us": statistics.median(single) * 1e6,
            "batch_images_per_second": 256 / statistics.median(batch)}  # fmt: skip


def timed(session: ort.InferenceSession, images: np.ndarray) -> float:
    started = time.perf_counter()
    session.run(["probabilities"], {"x": images})
    return time.perf_counter() - started


# --- report ------------------------------------------------------------------------------


def median_result(results: list[Result]) -> dict[str, float]:
    return {
        "per_second": statistics.median(r.per_second for r in results),
        "p50_us": statistics.median(r.p50_us for r in results),
        "p99_us": statistics.median(r.p99_us for r in results),
        "cpu_us": statistics.median(r.cpu_us_per_request for r in results),
        "failures": sum(r.failures for r in results),
    }


def row(label: str, metric: str, mine: str, theirs: str, ratio: str) -> str:
    return f"| {label} | {metric} | {mine} | {theirs} | {ratio} |"


def case_rows(case: Case | GrpcCase, mine: dict[str, float], theirs: dict[str, float]) -> list[str]:
    """Throughput, p50 and p99 latency and server CPU per request of one case."""
    rate = "images/s" if case.rows > 1 else "requests/s"
    speedup = mine["per_second"] / theirs["per_second"]
    rows = [row(case.label, rate, f"{mine['per_second'] * case.rows:,.0f}",
                f"{theirs['per_second'] * case.rows:,.0f}", f"{speedup:.1f}×")]  # fmt: skip
    for key, metric in (("p50_us", "p50 latency"), ("p99_us", "p99 latency")):
        rows.append(row("", metric, f"{mine[key] / 1000:.2f} ms", f"{theirs[key] / 1000:.2f} ms",
                        f"{theirs[key] / mine[key]:.1f}× lower"))  # fmt: skip
    cpu, cpu_theirs = mine["cpu_us"], theirs["cpu_us"]
    rows.append(row("", "server CPU per request", f"{cpu:,.0f} µs", f"{cpu_theirs:,.0f} µs",
                    f"{cpu_theirs / cpu:.1f}× less"))  # fmt: skip
    return rows


def table(summary: dict[str, dict[str, dict[str, float]]], load: list[Case | GrpcCase],
          raw: dict[str, float], kserve_name: str) -> list[str]:  # fmt: skip
    lines = [row("case", "metric", "ours", kserve_name, "ours vs KServe"), "|---|---|---|---|---|"]
    for case in load:
        lines += case_rows(case, summary[case.name]["ours"], summary[case.name]["KServe"])
    raw_rate = raw["batch_images_per_second"]
    raw_text = f"{raw['single_p50_us']:.0f} µs / {raw_rate:,.0f} images/s"
    lines.append(row("raw onnxruntime `session.run`", "1 image p50 / 256 images", raw_text, "", ""))
    for name, label in (("binary256_c1", "binary"), ("grpc256_c1", "gRPC raw")):
        batch = summary[name]
        lines.append(row(f"{label} batch vs raw onnxruntime", "share of its images/s",
                         f"{batch['ours']['per_second'] * 256 / raw_rate:.0%}",
                         f"{batch['KServe']['per_second'] * 256 / raw_rate:.0%}", ""))  # fmt: skip
    return lines


Summary = dict[str, dict[str, dict[str, float]]]


def targets(summary: Summary, raw: dict[str, float], names: tuple[str, str, str],
            p50_limit_us: float, share: float) -> list[str]:  # fmt: skip
    """The issues' targets for the cases `names` (32 connections, 1 connection, batch)."""
    c32, c1, batch = (summary[name] for name in names)
    checks = [
        ("c=32 requests/s ≥ 3× KServe's",
         c32["ours"]["per_second"] >= 3 * c32["KServe"]["per_second"]),
        ("c=32 p99 ≤ ⅓ of KServe's", c32["ours"]["p99_us"] * 3 <= c32["KServe"]["p99_us"]),
        (f"c=1 p50 ≤ {p50_limit_us / 1000:g} ms", c1["ours"]["p50_us"] <= p50_limit_us),
        (f"256-image batch ≥ {share:.0%} of raw onnxruntime images/s",
         batch["ours"]["per_second"] * 256 >= share * raw["batch_images_per_second"]),
    ]  # fmt: skip
    return [f"- [{'x' if met else ' '}] {text}" for text, met in checks]


def machine() -> str:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = names[0] if names else platform.processor()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu})"


def header(args: argparse.Namespace, model: Path, load_before: float) -> list[str]:
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_after = os.getloadavg()[0]
    return [
        f"Serving benchmark, {started}; {machine()}; load average {load_before:.1f} before, "
        f"{load_after:.1f} after (other processes were running).",
        f"Model: {model.relative_to(REPO) if model.is_relative_to(REPO) else model} "
        f"({model.stat().st_size:,} bytes), onnxruntime {ort.__version__}, "
        f"intra-op threads: {args.ort_threads} (KServe; ours and raw onnxruntime for small "
        f"runs), {args.ort_threads_large or 'one per core'} (ours and raw onnxruntime for the "
        f"256-image runs). KServe: 1 worker, log lines per request "
        f"{'on (its default)' if args.kserve_logging else 'off (like ours)'}. "
        "Clients: wrk (REST) and h2load (gRPC), 1 thread each, "
        f"{args.rounds} × {args.duration:g} s per case and server, alternating; medians.",
        "",
    ]


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
    parser.add_argument("--ours-arg", action="append", default=[],
                        help="extra flag for `python -m serving` (repeatable)")  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the numbers to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = arguments(argv)
    load_before = os.getloadavg()[0]
    run = Runner(wrk_binary(), h2load_binary())
    model = args.model or ensure_model(BENCH / "cnn")
    kserve_name = f"KServe {ensure_kserve(args.kserve_venv, args.kserve_spec)}"
    shutil.rmtree(args.work_dir, ignore_errors=True)
    args.work_dir.mkdir(parents=True)
    images = test_images(256)
    threads = (args.ort_threads, args.ort_threads_large)
    raw = raw_onnxruntime(model, images, threads)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    expected = session.run(["probabilities"], {"x": images[:8]})[0]
    load: list[Case | GrpcCase] = [
        *cases(args.work_dir, images),
        *grpc_cases(args.work_dir, MODEL, images),
    ]
    with ExitStack() as stack:
        servers = [
            stack.enter_context(ours(args.work_dir, model, threads, args.ours_arg)),
            stack.enter_context(
                kserve(
                    args.work_dir, model, args.kserve_venv, args.ort_threads, args.kserve_logging
                )
            ),  # fmt: skip
        ]
        for server in servers:
            check_answers(server, images[:8], expected)
            check_grpc_answers(server.name, server.grpc_address, MODEL, images[:8], expected)
        results = measure(run, servers, load, args.rounds, args.duration)
    summary = {case: {name: median_result(rs) for name, rs in by.items()}
               for case, by in results.items()}  # fmt: skip
    lines = [*header(args, model, load_before), *table(summary, load, raw, kserve_name), "",
             "Targets (issue 9, REST):",
             *targets(summary, raw, ("json_c32", "json_c1", "binary256_c1"), 500, 0.5), "",
             "Targets (issue 24, gRPC):",
             *targets(summary, raw, ("grpc_c32", "grpc_c1", "grpc256_c1"), 300, 0.7)]  # fmt: skip
    failures = sum(s["failures"] for by in summary.values() for s in by.values())
    if failures:
        lines.append(f"\nWARNING: {failures} requests failed or got non-2xx answers")
    print("\n".join(lines))
    (BENCH / "serving-last-run.md").write_text("\n".join(lines) + "\n")
    if args.json:
        numbers = {"summary": summary, "raw_onnxruntime": raw,
                   "runs": {c: {s: [asdict(r) for r in rs] for s, rs in by.items()}
                            for c, by in results.items()}}  # fmt: skip
        args.json.write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
