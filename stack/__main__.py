"""`python -m stack demo|up|down|status|s3`: the demo's process orchestration."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable, Sequence

from stack.proc import ServiceError
from stack.runner import (
    dead_services,
    describe_death,
    refuse_taken_port,
    start_services,
    status_table,
    stop_services,
)
from stack.seaweed import ensure_bucket
from stack.settings import SETTINGS, StackSettings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stack",
        description="Start, watch and stop the MNIST model-registry demo.",
        epilog="Settings (env var, default):\n"
        + "\n".join(f"  {s.env:<22} {s.default:<24} {s.help}" for s in SETTINGS),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--state-dir", help="State directory (env STATE_DIR, default .state).")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="Bring everything up and stay in the foreground.")
    up = commands.add_parser("up", help="Start the services in the background and seed the demo.")
    for command in (demo, up):
        command.add_argument("--no-lab", action="store_true", help="Do not start JupyterLab.")
    up.add_argument("--no-seed", action="store_true", help="Start services only; train nothing.")
    commands.add_parser("down", help="Stop every service started by up/demo.")
    commands.add_parser("status", help="Show each service, its port and health.")
    commands.add_parser("s3", help="Run only the S3 server (SeaweedFS) in the foreground.")
    commands.add_parser("oci", help="Run only the OCI registry (docker-registry), foreground.")
    commands.add_parser("lab", help="Run only JupyterLab on the notebooks, foreground.")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = StackSettings.load({"state_dir": args.state_dir})
    except ValueError as exc:  # names the setting's flag and variable
        parser.error(str(exc))
    try:
        return COMMANDS[args.command](settings, args)
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def cmd_up(settings: StackSettings, args: argparse.Namespace) -> int:
    if args.no_seed:
        print(f"Starting the demo services (state in {settings.state_dir}/):", flush=True)
        start_services(settings, with_lab=not args.no_lab)
        print("Services started; nothing trained (--no-seed). `make status` lists them.")
        return 0
    bring_up(settings, with_lab=not args.no_lab, foreground=False)
    return 0


def bring_up(settings: StackSettings, with_lab: bool, foreground: bool) -> None:
    """`make up` and `make demo`: the services, the seed up to its first prediction, then
    JupyterLab (not needed for that prediction, so its start-up does not delay it), then the
    URLs and the walkthrough's commands."""
    from stack.bootstrap import print_welcome, seed_demo

    print(f"Starting the demo services (state in {settings.state_dir}/):", flush=True)
    start_services(settings, with_lab=False)
    ids = seed_demo(settings)
    if with_lab:
        start_services(settings, only=frozenset({"lab"}))
    print_welcome(settings, ids, with_lab=with_lab, foreground=foreground)


def cmd_demo(settings: StackSettings, args: argparse.Namespace) -> int:
    # Also SIGINT: a shell starting us in the background may have set it to "ignore".
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        bring_up(settings, with_lab=not args.no_lab, foreground=True)
        return _watch(settings)
    except KeyboardInterrupt:
        return 0
    finally:
        print("\nStopping the demo (state kept in " + str(settings.state_dir) + "/)", flush=True)
        stop_services(settings)


def _watch(settings: StackSettings) -> int:
    """Stay in the foreground; report a service that dies, with its log tail."""
    while True:
        dead = dead_services(settings)
        if dead:
            for service in dead:
                print(describe_death(service), file=sys.stderr)
            return 1
        time.sleep(1)


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def cmd_down(settings: StackSettings, _args: argparse.Namespace) -> int:
    stopped = stop_services(settings)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def cmd_status(settings: StackSettings, _args: argparse.Namespace) -> int:
    print(status_table(settings))
    for service in dead_services(settings):
        print("\n" + describe_death(service))
    return 0


def cmd_s3(settings: StackSettings, _args: argparse.Namespace) -> int:
    return _run_alone(settings, "s3", f"S3 (SeaweedFS) on {settings.s3_endpoint}",
                      lambda: ensure_bucket(settings.s3()))  # fmt: skip


def cmd_oci(settings: StackSettings, _args: argparse.Namespace) -> int:
    return _run_alone(settings, "oci", f"OCI registry (docker-registry) on {settings.oci_url}")


def cmd_lab(settings: StackSettings, _args: argparse.Namespace) -> int:
    from stack.lab import lab_url

    log = settings.logs_dir / "lab.log"
    return _run_alone(settings, "lab", f"JupyterLab on {lab_url(settings)} (log {log})")


def _run_alone(
    settings: StackSettings, name: str, banner: str, when_healthy: Callable[[], None] | None = None
) -> int:
    """Run one service of the demo in the foreground until Ctrl-C or SIGTERM; either stops
    the service too (it runs in its own session, so no signal reaches it otherwise)."""
    from stack.services import service_specs

    spec = next(spec for spec in service_specs(settings) if spec.name == name)
    refuse_taken_port(spec)
    signal.signal(signal.SIGINT, _raise_interrupt)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    process = spec.build(settings).start()
    try:
        process.wait_healthy(timeout=120)
        if when_healthy is not None:
            when_healthy()
        print(f"{banner}; Ctrl-C stops it.", flush=True)
        assert process.process is not None
        process.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        process.stop()
    return 0


COMMANDS = {"up": cmd_up, "demo": cmd_demo, "down": cmd_down, "status": cmd_status, "s3": cmd_s3,
            "oci": cmd_oci, "lab": cmd_lab}  # fmt: skip

if __name__ == "__main__":
    sys.exit(main())
