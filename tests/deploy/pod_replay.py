"""Run a rendered container's command as a local process, as its pod would run it.

Without a cluster or a container engine, the nearest thing to starting a pod: the container's
command and args, its environment assembled from `env` values, Secrets and ConfigMaps, with
only the network moved to loopback: `0.0.0.0` becomes `127.0.0.1`, every container port a free
loopback port, and every `http://<service>:<port>` URL the loopback port of the pod behind it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from k8s_rules import REPO, KubeObject, all_containers, matching_pod_specs

from stack.proc import ServiceProcess, free_port, http_ok

Secrets = dict[str, dict[str, str]]


@dataclass(frozen=True)
class Loopback:
    """Where each container port and each Service URL went on this machine."""

    ports: dict[int, int]
    service_urls: dict[str, str]

    @classmethod
    def plan(cls, objects: list[KubeObject]) -> Loopback:
        declared = [p for _, c, _ in all_containers(objects) for p in c.get("ports", [])]
        numbers = [port["containerPort"] for port in declared]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"container ports clash on one machine: {numbers}")
        ports = {number: free_port() for number in numbers}
        return cls(ports, service_urls(objects, ports))

    def localize(self, value: str) -> str:
        """`value` with listen addresses, container ports and Service URLs moved to loopback."""
        for url, local in self.service_urls.items():
            value = value.replace(url, local)
        head, sep, tail = value.rpartition("=")
        if tail == "0.0.0.0":
            return f"{head}{sep}127.0.0.1"
        if tail.isdigit() and int(tail) in self.ports:
            return f"{head}{sep}{self.ports[int(tail)]}"
        return value


def service_urls(objects: list[KubeObject], ports: dict[int, int]) -> dict[str, str]:
    """`http://<service>:<port>` -> `http://127.0.0.1:<loopback port of its target>`."""
    urls = {}
    for service in (obj for obj in objects if obj["kind"] == "Service"):
        pods = matching_pod_specs(objects, service["spec"]["selector"])
        for port in service["spec"]["ports"]:
            number = target_port_number(pods, port.get("targetPort", port["port"]))
            local = f"http://127.0.0.1:{ports[number]}"
            urls[f"http://{service['metadata']['name']}:{port['port']}"] = local
    return urls


def target_port_number(pods: list[KubeObject], target: str | int) -> int:
    """The container port number a Service's targetPort (name or number) means."""
    if isinstance(target, int):
        return target
    declared = [p for pod in pods for c in pod["containers"] for p in c.get("ports", [])]
    return next(port["containerPort"] for port in declared if port.get("name") == target)


def container_env(
    container: KubeObject, objects: list[KubeObject], secrets: Secrets, loopback: Loopback
) -> dict[str, str]:
    """The container's environment: envFrom first, then env, as the kubelet builds it."""
    config_maps = {
        o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"
    }
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(config_maps[source["configMapRef"]["name"]])
        if "secretRef" in source:
            env.update(secrets[source["secretRef"]["name"]])
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        env[item["name"]] = secrets[ref["name"]][ref["key"]] if ref else item["value"]
    return {name: loopback.localize(value) for name, value in env.items()}


def container_command(container: KubeObject, loopback: Loopback) -> list[str]:
    """command + args, with the image's `python` replaced by this interpreter."""
    line = [*container["command"], *container.get("args", [])]
    if line[0] == "python":
        line[0] = sys.executable
    return [loopback.localize(part) for part in line]


def probe_url(container: KubeObject, probe: str, loopback: Loopback) -> str | None:
    """The loopback URL of an httpGet probe (port by name or number), or None."""
    http_get = container.get(probe, {}).get("httpGet")
    if http_get is None:
        return None
    port = http_get["port"]
    named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    number = named[port] if isinstance(port, str) else port
    return f"http://127.0.0.1:{loopback.ports[number]}{http_get['path']}"


def pod_process(
    name: str, container: KubeObject, env: dict[str, str], loopback: Loopback, home: Path
) -> ServiceProcess:
    """A ServiceProcess for the container, healthy when its readiness probe answers 2xx."""
    ready = probe_url(container, "readinessProbe", loopback)
    return ServiceProcess(
        name=name,
        command=container_command(container, loopback),
        log_path=home / f"{name}.log",
        health=(lambda: http_ok(ready)) if ready else (lambda: True),
        env={**env, "HOME": str(home), "PYTHONUNBUFFERED": "1"},
        cwd=REPO,
    )
