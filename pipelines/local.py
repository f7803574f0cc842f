"""Run the pipeline on this machine with `kfp.local` and report what each step did.

`kfp.local.SubprocessRunner(use_venv=False)` runs every step as a subprocess of this
virtualenv, with this process's environment (so the `AWS_*` credentials reach the publish
step). kfp.local's own output (every step's logs, inputs and outputs) goes to a log file;
a `StepWatcher` turns its task events into one status line per step as they happen.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from pipelines.params import PipelineParams
from pipelines.pipeline import PIPELINE_NAME, STEP_NAMES, build_pipeline

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
TASK_STARTED = re.compile(r"^Executing task '([^']+)'")
TASK_FINISHED = re.compile(r"^Task '([^']+)' finished with status (\w+)")
SUCCEEDED, FAILED, SKIPPED = "SUCCEEDED", "FAILED", "SKIPPED"


@dataclass
class StepStatus:
    """One step of a local run: its final status and how long it took."""

    name: str
    status: str = SKIPPED
    seconds: float = 0.0
    outputs: dict[str, Any] = field(default_factory=dict)


class StepWatcher(logging.Filter):
    """Watches kfp.local's log records (root logger) and prints each step's status.

    `run_dir` finds the run's directory, where a finished step's outputs are read from.
    """

    def __init__(
        self,
        out: TextIO,
        run_dir: Callable[[], Path | None] = lambda: None,
        step_names: tuple[str, ...] = STEP_NAMES,
    ) -> None:
        super().__init__()
        self.out = out
        self.run_dir = run_dir
        self.steps = {name: StepStatus(name) for name in step_names}
        self.started: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = ANSI_ESCAPE.sub("", record.getMessage())
        if started := TASK_STARTED.match(message):
            self.on_started(started[1])
        elif finished := TASK_FINISHED.match(message):
            self.on_finished(finished[1], finished[2])
        return True

    def on_started(self, name: str) -> None:
        self.started[name] = time.monotonic()
        self.say(f"  {name:<15} RUNNING")

    def on_finished(self, name: str, kfp_status: str) -> None:
        step = self.steps.setdefault(name, StepStatus(name))
        step.status = SUCCEEDED if kfp_status == "SUCCESS" else FAILED
        step.seconds = time.monotonic() - self.started.get(name, time.monotonic())
        step.outputs = step_outputs(self.run_dir(), name)
        detail = describe_outputs(name, step.outputs)
        self.say(f"  {name:<15} {step.status} in {step.seconds:.1f} s{detail}")

    def say(self, line: str) -> None:
        print(line, file=self.out, flush=True)


@dataclass(frozen=True)
class LocalRun:
    """What a local run did: its directory under the pipeline root and every step's status."""

    run_dir: Path | None
    steps: dict[str, StepStatus]

    def status(self, name: str) -> str:
        return self.steps[name].status if name in self.steps else SKIPPED

    def failed_steps(self) -> list[str]:
        return [name for name, step in self.steps.items() if step.status == FAILED]

    def outputs(self, name: str) -> dict[str, Any]:
        return self.steps[name].outputs if name in self.steps else {}


def describe_outputs(name: str, outputs: dict[str, Any]) -> str:
    """A short ': ...' summary of what a finished step of this pipeline produced."""
    if name == "train" and "Output" in outputs:
        return f": test accuracy {outputs['Output']:.4f}"
    if name == "validate" and "reason" in outputs:
        return f": {outputs['reason']}"
    if name == "publish" and "version_name" in outputs:
        return f": version {outputs['version_name']} (id {outputs['version_id']})"
    return ""


def step_outputs(run_dir: Path | None, name: str) -> dict[str, Any]:
    """The parameter outputs a finished step wrote (its KFP executor_output.json)."""
    path = run_dir / name / "executor_output.json" if run_dir else None
    if path is None or not path.is_file():
        return {}
    return dict(json.loads(path.read_text()).get("parameterValues", {}))


class RunDirectoryFinder:
    """Finds the directory kfp.local creates under the pipeline root for the next run."""

    def __init__(self, pipeline_root: Path, pipeline_name: str = PIPELINE_NAME) -> None:
        self.pattern = f"{pipeline_name}-*"
        self.pipeline_root = pipeline_root
        self.before = set(pipeline_root.glob(self.pattern))

    def __call__(self) -> Path | None:
        created = [p for p in self.pipeline_root.glob(self.pattern) if p not in self.before]
        return max(created, key=lambda p: p.stat().st_mtime, default=None)


@contextlib.contextmanager
def watching(out: TextIO, run_dir: Callable[[], Path | None]) -> Iterator[StepWatcher]:
    """Install a StepWatcher on the root logger (kfp.local logs there) for the block."""
    watcher = StepWatcher(out, run_dir)
    root = logging.getLogger()
    root.addFilter(watcher)
    try:
        yield watcher
    finally:
        root.removeFilter(watcher)


@contextlib.contextmanager
def kfp_output_to(log: TextIO) -> Iterator[None]:
    """Send kfp.local's prints, logs and warnings to `log` (it logs to sys.stdout)."""
    with (
        contextlib.redirect_stdout(log),
        contextlib.redirect_stderr(log),
        warnings.catch_warnings(),
    ):
        # every step's image is the cluster's, not a local Python: expected, not a problem
        warnings.filterwarnings("ignore", message=".*custom or non-Python base image.*")
        yield


def run_locally(params: PipelineParams, pipeline_root: Path, out: TextIO,
                kfp_output: TextIO) -> LocalRun:  # fmt: skip
    """Run the pipeline with kfp.local; step statuses go to `out`, kfp's own output to
    `kfp_output` (a log file, or the terminal)."""
    from kfp import local

    pipeline_root.mkdir(parents=True, exist_ok=True)
    run_dir = RunDirectoryFinder(pipeline_root)
    local.init(runner=local.SubprocessRunner(use_venv=False),
               pipeline_root=str(pipeline_root), raise_on_error=False)  # fmt: skip
    pipeline = build_pipeline()
    with watching(out, run_dir) as watcher, kfp_output_to(kfp_output):
        pipeline(**params.as_arguments())
    return LocalRun(run_dir(), watcher.steps)
