"""`python -m pipelines.run`: run the pipeline locally (kfp.local) against the registry and S3.

Exit codes: 0 the pipeline ran to its end, whether it registered a version or validation
refused the model (then it says NOT REGISTERED and nothing was uploaded or registered;
`--require-registration` turns that into exit 3); 1 a step failed or the registry / S3
cannot be reached; 2 invalid parameters (nothing ran).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from contracts.settings import settings_parser
from pipelines.local import SUCCEEDED, LocalRun, run_locally
from pipelines.params import InvalidParametersError
from pipelines.pipeline import PIPELINE_NAME
from pipelines.preflight import PreflightError, check_reachable
from pipelines.settings import SETTINGS, RunSettings, credentials_env
from stack.proc import log_tail

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_NOT_REGISTERED = 0, 1, 2, 3


def build_parser() -> argparse.ArgumentParser:
    parser = settings_parser(
        "python -m pipelines.run",
        "Run the MNIST train -> validate -> register pipeline locally with kfp.local.",
        SETTINGS,
        epilog="S3 credentials come from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and "
        "AWS_DEFAULT_REGION (the demo's values when unset).\nExit codes: 0 ran to its end "
        "(registered, or NOT REGISTERED because validation failed), 1 a step failed or the "
        "registry / S3 is unreachable, 2 invalid parameters, 3 not registered with "
        "--require-registration.",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="Stream kfp.local's full output instead of writing it to the log.",
    )
    parser.add_argument(
        "--require-registration",
        action="store_true",
        help="Exit 3 when validation refuses the model (default: exit 0).",
    )
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = RunSettings.load({s.name: getattr(args, s.name) for s in SETTINGS})
    except InvalidParametersError as error:
        print(f"error: {error} Nothing was run.", file=sys.stderr)
        return error.exit_code
    os.environ.update(credentials_env(os.environ))
    try:
        check_reachable(settings.params)
    except PreflightError as error:
        print(f"error: {error} Nothing was run.", file=sys.stderr)
        return EXIT_FAILED
    return run_and_report(settings, args.verbose, args.require_registration)


def run_and_report(settings: RunSettings, verbose: bool, require_registration: bool) -> int:
    """Run the pipeline, print each step's status and the outcome; return the exit code."""
    started = time.monotonic()
    print_header(settings)
    log_path = settings.pipeline_root / "logs" / f"{time.strftime('%Y%m%d-%H%M%S')}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        run = run_locally(settings.params, settings.pipeline_root, sys.stdout,
                          sys.stdout if verbose else log)  # fmt: skip
    code = report_outcome(run, require_registration, None if verbose else log_path)
    print(f"Finished in {time.monotonic() - started:.0f} s; run directory {run.run_dir}")
    return code


def print_header(settings: RunSettings) -> None:
    params = settings.params
    print(
        f"Pipeline {PIPELINE_NAME} (kfp.local): {params.kind} model, {params.epochs} epochs, "
        f"learning rate {params.learning_rate:g}, minimum accuracy {params.min_accuracy:g}\n"
        f"  registry {params.registry_url}, S3 {params.s3_endpoint} bucket {params.s3_bucket}",
        flush=True,
    )


def report_outcome(run: LocalRun, require_registration: bool, log_path: Path | None) -> int:
    """Print what the run ended with; return its exit code."""
    if run.failed_steps() or run.run_dir is None:
        failed = ", ".join(run.failed_steps())
        print(f"FAILED: step {failed} failed, so nothing after it ran." if failed
              else "FAILED: kfp.local did not run the pipeline.")  # fmt: skip
        if log_path is not None:
            print(f"Last lines of the kfp.local log {log_path}:\n{log_tail(log_path, 30)}")
        return EXIT_FAILED
    if run.status("publish") == SUCCEEDED:
        print(run.outputs("publish").get("summary", "REGISTERED"))
        return EXIT_OK
    print(run.outputs("not-registered").get("Output", "NOT REGISTERED"))
    return EXIT_NOT_REGISTERED if require_registration else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
