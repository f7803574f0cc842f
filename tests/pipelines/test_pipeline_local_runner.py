"""The local runner's bookkeeping, checked against real kfp.local runs of tiny pipelines.

No `from __future__ import annotations`: KFP reads the tiny components' annotations as types.
"""

import io
from pathlib import Path

import pytest
from kfp import dsl, local

from pipelines.local import (
    FAILED,
    SKIPPED,
    SUCCEEDED,
    LocalRun,
    RunDirectoryFinder,
    StepStatus,
    StepWatcher,
    kfp_output_to,
    watching,
)
from pipelines.run import EXIT_FAILED, EXIT_NOT_REGISTERED, EXIT_OK, report_outcome


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def succeed(word: str) -> str:
    return word.upper()


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def fail(word: str) -> str:
    raise RuntimeError(f"refusing {word}")


@dsl.pipeline(name="tiny")
def tiny(word: str = "ok") -> None:
    first = succeed(word=word)
    fail(word=first.output)


def test_watch_local_run_reports_success_and_failure(tmp_path: Path) -> None:
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path),
               raise_on_error=False)  # fmt: skip
    out, kfp_log = io.StringIO(), io.StringIO()
    with watching(out, RunDirectoryFinder(tmp_path, "tiny")) as watcher, kfp_output_to(kfp_log):
        tiny(word="hi")
    assert watcher.steps["succeed"].status == SUCCEEDED
    assert watcher.steps["succeed"].outputs == {"Output": "HI"}
    assert watcher.steps["fail"].status == FAILED
    assert "succeed         SUCCEEDED in" in out.getvalue()
    assert "refusing HI" in kfp_log.getvalue()


def test_step_watcher_leaves_unseen_steps_skipped() -> None:
    watcher = StepWatcher(io.StringIO(), step_names=("train", "publish"))
    watcher.on_started("train")
    watcher.on_finished("train", "SUCCESS")
    assert watcher.steps["train"].status == SUCCEEDED
    assert watcher.steps["publish"].status == SKIPPED


def finished_run(tmp_path: Path, **statuses: str) -> LocalRun:
    steps = {name.replace("_", "-"): StepStatus(name.replace("_", "-"), status)
             for name, status in statuses.items()}  # fmt: skip
    return LocalRun(tmp_path, steps)


def test_report_outcome_registered_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = finished_run(tmp_path, train=SUCCEEDED, validate=SUCCEEDED, publish=SUCCEEDED)
    run.steps["publish"].outputs = {"summary": "REGISTERED: MNIST v3"}
    assert report_outcome(run, require_registration=False, log_path=None) == EXIT_OK
    assert "REGISTERED: MNIST v3" in capsys.readouterr().out


@pytest.mark.parametrize(("required", "code"), [(False, EXIT_OK), (True, EXIT_NOT_REGISTERED)])
def test_report_outcome_not_registered(tmp_path: Path, required: bool, code: int) -> None:
    run = finished_run(tmp_path, train=SUCCEEDED, validate=SUCCEEDED, not_registered=SUCCEEDED)
    assert report_outcome(run, require_registration=required, log_path=None) == code


def test_report_outcome_failed_step_exits_1_with_log_tail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "run.log"
    log.write_text("Traceback ...\nStorageError: bucket missing\n")
    run = finished_run(tmp_path, train=SUCCEEDED, validate=SUCCEEDED, publish=FAILED)
    assert report_outcome(run, require_registration=False, log_path=log) == EXIT_FAILED
    printed = capsys.readouterr().out
    assert "FAILED: step publish failed" in printed
    assert "StorageError: bucket missing" in printed
