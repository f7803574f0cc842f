"""What every benchmark report shares: the machine and its load, Markdown rows, ratios, and
the copy of the last run kept in `.bench/`."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from bench import BENCH


def machine() -> str:
    """Operating system, architecture, CPU count and model."""
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    cpu = names[0] if names else platform.processor()
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu})"


def started() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def load_average() -> float:
    """The 1-minute load average: other processes on the machine disturb every figure."""
    return os.getloadavg()[0]


def loads(before: float) -> str:
    return f"load average {before:.1f} before, {load_average():.1f} after"


def table_row(*cells: str) -> str:
    """One row of a Markdown table."""
    return "| " + " | ".join(cells) + " |"


def ratio(ours: float, theirs: float, higher_is_better: bool) -> float:
    """How many times better ours is (rates: ours/theirs; latencies and costs: theirs/ours)."""
    return ours / theirs if higher_is_better else theirs / ours


def save_last_run(name: str, text: str) -> None:
    """Keep the report as `.bench/<name>-last-run.md`."""
    BENCH.mkdir(exist_ok=True)
    (BENCH / f"{name}-last-run.md").write_text(text + "\n")
