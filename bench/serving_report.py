"""The report of `bench.serving`: ours vs KServe per case (throughput, p50, p99, server CPU per
request, and the ratios), raw onnxruntime, and the issues' targets."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort

from bench import REPO
from bench.report import loads, machine, started, table_row
from bench.serving_grpc import GrpcCase
from bench.serving_rest import Case, Result

Summary = dict[str, dict[str, dict[str, float]]]


def median_result(results: list[Result]) -> dict[str, float]:
    return {
        "per_second": statistics.median(r.per_second for r in results),
        "p50_us": statistics.median(r.p50_us for r in results),
        "p99_us": statistics.median(r.p99_us for r in results),
        "cpu_us": statistics.median(r.cpu_us_per_request for r in results),
        "failures": sum(r.failures for r in results),
    }


def case_rows(case: Case | GrpcCase, mine: dict[str, float], theirs: dict[str, float]) -> list[str]:
    """Throughput, p50 and p99 latency and server CPU per request of one case."""
    rate = "images/s" if case.rows > 1 else "requests/s"
    speedup = mine["per_second"] / theirs["per_second"]
    rows = [table_row(case.label, rate, f"{mine['per_second'] * case.rows:,.0f}",
                      f"{theirs['per_second'] * case.rows:,.0f}", f"{speedup:.1f}×")]  # fmt: skip
    for key, metric in (("p50_us", "p50 latency"), ("p99_us", "p99 latency")):
        rows.append(table_row("", metric, f"{mine[key] / 1000:.2f} ms",
                              f"{theirs[key] / 1000:.2f} ms",
                              f"{theirs[key] / mine[key]:.1f}× lower"))  # fmt: skip
    cpu, cpu_theirs = mine["cpu_us"], theirs["cpu_us"]
    rows.append(table_row("", "server CPU per request", f"{cpu:,.0f} µs",
                          f"{cpu_theirs:,.0f} µs", f"{cpu_theirs / cpu:.1f}× less"))  # fmt: skip
    return rows


def table(summary: Summary, load: list[Case | GrpcCase], raw: dict[str, float],
          names: dict[str, str]) -> list[str]:  # fmt: skip
    """Ours vs KServe on every case, raw onnxruntime, and ours vs Triton on the gRPC cases when
    Triton ran (`names`: each peer's name with its version)."""
    lines = peer_table(summary, load, "KServe", names["KServe"])
    raw_rate = raw["batch_images_per_second"]
    raw_text = f"{raw['single_p50_us']:.0f} µs / {raw_rate:,.0f} images/s"
    lines.append(table_row("raw onnxruntime `session.run`", "1 image p50 / 256 images",
                           raw_text, "", ""))  # fmt: skip
    for name, label in (("binary256_c1", "binary"), ("grpc256_c1", "gRPC raw")):
        lines.append(batch_share_row(summary[name], label, "KServe", raw_rate))
    if "Triton" in names:
        grpc = [case for case in load if isinstance(case, GrpcCase)]
        lines += ["", *peer_table(summary, grpc, "Triton", names["Triton"])]
        lines.append(batch_share_row(summary["grpc256_c1"], "gRPC raw", "Triton", raw_rate))
    return lines


def peer_table(summary: Summary, load: Sequence[Case | GrpcCase], peer: str,
               peer_name: str) -> list[str]:  # fmt: skip
    lines = [table_row("case", "metric", "ours", peer_name, f"ours vs {peer}"),
             "|---|---|---|---|---|"]  # fmt: skip
    for case in load:
        lines += case_rows(case, summary[case.name]["ours"], summary[case.name][peer])
    return lines


def batch_share_row(batch: dict[str, dict[str, float]], label: str, peer: str,
                    raw_rate: float) -> str:  # fmt: skip
    """A 256-image case's images/s as a share of raw onnxruntime's, ours and the peer's."""
    return table_row(f"{label} batch vs raw onnxruntime", "share of its images/s",
                     f"{batch['ours']['per_second'] * 256 / raw_rate:.0%}",
                     f"{batch[peer]['per_second'] * 256 / raw_rate:.0%}", "")  # fmt: skip


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


def header(args: argparse.Namespace, model: Path, load_before: float) -> list[str]:
    return [
        f"Serving benchmark, {started()}; {machine()}; {loads(load_before)} "
        "(other processes were running).",
        f"Model: {model.relative_to(REPO) if model.is_relative_to(REPO) else model} "
        f"({model.stat().st_size:,} bytes), onnxruntime {ort.__version__}, "
        f"intra-op threads: {args.ort_threads} (KServe; ours and raw onnxruntime for small "
        f"runs), {args.ort_threads_large or 'one per core'} (ours and raw onnxruntime for the "
        f"256-image runs). KServe: 1 worker, log lines per request "
        f"{'on (its default)' if args.kserve_logging else 'off (like ours)'}. "
        f"{triton_note(args)}Clients: wrk (REST) and h2load (gRPC), 1 thread each, "
        f"{args.rounds} × {args.duration:g} s per case and server, alternating; medians.",
        "",
    ]


def triton_note(args: argparse.Namespace) -> str:
    if args.no_triton:
        return ""
    return (f"Triton: the tritonserver inside nvidia-pytriton, the model as a PyTriton "
            f"onnxruntime callable ({args.ort_threads} intra-op thread(s), no dynamic batching), "
            "gRPC cases only. ")  # fmt: skip
