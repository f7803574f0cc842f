"""Start the demo services in order, remember their pids, report on them and stop them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from contracts.defaults import SERVING_GRPC_PORT
from stack.proc import ServiceError, http_ok, log_tail, pid_alive, port_in_use, stop_process_group
from stack.services import ServiceSpec, service_specs
from stack.settings import StackSettings


@dataclass
class RunningService:
    """One line of the pid file."""

    name: str
    pid: int
    port: int
    health_url: str
    log: str


def pid_file(settings: StackSettings) -> Path:
    return settings.state_dir / "pids.json"


def read_pids(settings: StackSettings) -> dict[str, RunningService]:
    try:
        raw = json.loads(pid_file(settings).read_text())
    except (OSError, ValueError):
        return {}
    return {name: RunningService(**entry) for name, entry in raw.items()}


def write_pids(settings: StackSettings, services: dict[str, RunningService]) -> None:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    payload = {name: asdict(service) for name, service in services.items()}
    pid_file(settings).write_text(json.dumps(payload, indent=2))


def start_services(
    settings: StackSettings, with_lab: bool = True, only: frozenset[str] | None = None
) -> dict[str, RunningService]:
    """Start every service (or those named in `only`) that is not already running; wait for
    each to be healthy."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    running = {n: s for n, s in read_pids(settings).items() if pid_alive(s.pid)}
    for spec in service_specs(settings, with_lab):
        if only is not None and spec.name not in only:
            continue
        if spec.name in running:
            print(f"  {spec.name:<10} already running (pid {running[spec.name].pid})")
            continue
        running[spec.name] = _start_one(settings, spec)
        write_pids(settings, running)
    return running


def refuse_taken_port(spec: ServiceSpec) -> None:
    """ServiceError naming the env var to change when another program holds a port."""
    for port, setting in ((spec.port, spec.setting), (spec.grpc_port, SERVING_GRPC_PORT.env)):
        if port and port_in_use(port):
            raise ServiceError(
                f"port {port} for {spec.name} is already in use by another program: "
                f"stop it, or set {setting} to use a free port."
            )


def _start_one(settings: StackSettings, spec: ServiceSpec) -> RunningService:
    refuse_taken_port(spec)
    print(f"  {spec.name:<10} starting on port {spec.port or '-'} ...", flush=True)
    started = time.monotonic()
    process = spec.build(settings).start()
    process.wait_healthy(timeout=120)
    print(f"  {spec.name:<10} healthy in {time.monotonic() - started:.1f} s", flush=True)
    assert process.pid is not None
    return RunningService(spec.name, process.pid, spec.port, spec.health_url, str(process.log_path))


def stop_services(settings: StackSettings) -> list[str]:
    """Stop every service in the pid file, last started first; return their names."""
    services = read_pids(settings)
    for service in reversed(list(services.values())):
        print(f"  {service.name:<10} stopping (pid {service.pid})", flush=True)
        stop_process_group(service.pid, kill_after=5.0 if service.name in {"s3", "oci"} else 10.0)
    pid_file(settings).unlink(missing_ok=True)
    return list(services)


def dead_services(settings: StackSettings) -> list[RunningService]:
    """Services in the pid file whose process has died."""
    return [s for s in read_pids(settings).values() if not pid_alive(s.pid)]


def describe_death(service: RunningService) -> str:
    """One report for a service that died: its name and the tail of its log."""
    tail = log_tail(Path(service.log), lines=15)
    return f"{service.name} (pid {service.pid}) died; last lines of {service.log}:\n{tail}"


def status_table(settings: StackSettings) -> str:
    """A table of every service: pid, port, alive, healthy."""
    services = read_pids(settings)
    lines = [f"{'service':<11}{'pid':>8}  {'port':>5}  {'process':<8} {'health':<8} log"]
    for spec in service_specs(settings, with_lab="lab" in services):
        lines.append(_status_line(spec, services.get(spec.name)))
        if spec.grpc_port:
            lines.append(_grpc_status_line(spec, services.get(spec.name)))
    return "\n".join(lines)


def _grpc_status_line(spec: ServiceSpec, service: RunningService | None) -> str:
    """The inference server's gRPC listener (the line under it): same process, healthy
    while its port listens."""
    port = spec.grpc_port
    return _line("  gRPC", port, service, lambda: port_in_use(port))


def _status_line(spec: ServiceSpec, service: RunningService | None) -> str:
    return _line(spec.name, spec.port, service, lambda: http_ok(spec.health_url))


def _line(name: str, port: int, service: RunningService | None, healthy: Callable[[], bool]) -> str:
    if service is None:
        return f"{name:<11}{'-':>8}  {port or '-':>5}  {'stopped':<8} {'-':<8} -"
    alive = pid_alive(service.pid)
    ok = alive and healthy()
    return (
        f"{name:<11}{service.pid:>8}  {port or '-':>5}  "
        f"{'running' if alive else 'DEAD':<8} {'ok' if ok else 'FAILING':<8} {service.log}"
    )
