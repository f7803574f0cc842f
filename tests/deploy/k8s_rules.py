"""Rendering deploy/k8s offline and the project's rules for the rendered objects.

Every rule takes the rendered objects and returns the violations it found, one readable line
each; an empty list means the rule holds. Tests run the rules on the real manifests and on
broken copies, so each rule is seen both passing and failing.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

KubeObject = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
K8S_DIR = REPO / "deploy" / "k8s"

REGISTRY_HEALTH_PATH = "/readyz/health"
REGISTRY_DATABASE_ENV = "MR_DATABASE_URL"
CONTROLLER_API_GROUP = "serving.kserve.io"
CONTROLLER_RESOURCES = frozenset({"inferenceservices", "inferenceservices/status"})
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job"})
CLUSTER_WIDE_KINDS = frozenset({"ClusterRole", "ClusterRoleBinding"})


class RenderError(Exception):
    """`kubectl kustomize` refused a kustomization; the message carries its stderr."""


class KubectlMissing(RenderError):
    """No `kubectl` on PATH: install it with `make system-deps`."""


def kubectl() -> str:
    """Path of the kubectl binary that renders the kustomizations."""
    path = shutil.which("kubectl")
    if path is None:
        raise KubectlMissing("kubectl is not on PATH; `make system-deps` installs it")
    return path


def render(kustomization_dir: Path) -> list[KubeObject]:
    """The objects `kubectl kustomize <dir>` renders, offline (it contacts no cluster)."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(kustomization_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RenderError(f"kubectl kustomize {kustomization_dir}: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def schema_violations(objects: list[KubeObject], kubernetes_version: str) -> list[str]:
    """Objects that fail the Kubernetes OpenAPI schema (strict: unknown fields are errors)."""
    found = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, kubernetes_version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(part) for part in exc.path)
            found.append(f"{name_of(obj)}: {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            found.append(f"{name_of(obj)}: {exc.message}")
    return found


def name_of(obj: KubeObject) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def pod_specs(objects: list[KubeObject]) -> Iterator[tuple[KubeObject, KubeObject]]:
    """(workload, pod spec) for every object that runs pods."""
    for obj in objects:
        if obj.get("kind") in WORKLOAD_KINDS:
            yield obj, obj["spec"]["template"]["spec"]


def containers(pod_spec: KubeObject) -> list[KubeObject]:
    return [*pod_spec.get("initContainers", []), *pod_spec.get("containers", [])]


def all_containers(objects: list[KubeObject]) -> Iterator[tuple[str, KubeObject, KubeObject]]:
    """(workload/container name, container, pod spec) for every container."""
    for workload, pod_spec in pod_specs(objects):
        for container in containers(pod_spec):
            yield f"{name_of(workload)}/{container['name']}", container, pod_spec


ContainerRule = Callable[[KubeObject, KubeObject], Iterator[str]]
"""What is wrong with one container (given its pod spec), one phrase each."""


def per_container(rule: ContainerRule) -> Callable[[list[KubeObject]], list[str]]:
    """A rule over the rendered objects: each container's problems, prefixed with its name."""

    @functools.wraps(rule)
    def check(objects: list[KubeObject]) -> list[str]:
        return [
            f"{where}: {problem}"
            for where, container, pod_spec in all_containers(objects)
            for problem in rule(container, pod_spec)
        ]

    return check


@per_container
def image_pin_violations(container: KubeObject, _: KubeObject) -> Iterator[str]:
    """Images without an explicit tag or digest, or tagged `latest`."""
    image = container.get("image", "")
    last_part = image.rsplit("/", 1)[-1]
    if "@sha256:" not in image and (":" not in last_part or last_part.endswith(":latest")):
        yield f"image {image!r} is not pinned by tag"


@per_container
def resource_violations(container: KubeObject, _: KubeObject) -> Iterator[str]:
    """Containers without CPU and memory requests and limits."""
    resources = container.get("resources", {})
    for kind in ("requests", "limits"):
        missing = {"cpu", "memory"} - set(resources.get(kind, {}))
        if missing:
            yield f"no {kind} for {', '.join(sorted(missing))}"


@per_container
def non_root_violations(container: KubeObject, pod_spec: KubeObject) -> Iterator[str]:
    """Containers that may run as root or gain privileges."""
    context = {**pod_spec.get("securityContext", {}), **container.get("securityContext", {})}
    if context.get("runAsNonRoot") is not True:
        yield "runAsNonRoot is not true"
    if context.get("runAsUser") == 0:
        yield "runAsUser is 0"
    if context.get("allowPrivilegeEscalation") is not False:
        yield "allowPrivilegeEscalation is not false"
    if context.get("privileged"):
        yield "privileged"


def command_line(container: KubeObject) -> list[str]:
    return [*container.get("command", []), *container.get("args", [])]


def module_run_by(container: KubeObject) -> str | None:
    """`X` when the container runs `python -m X ...`, else None."""
    line = command_line(container)
    if len(line) >= 3 and Path(line[0]).name.startswith("python") and line[1] == "-m":
        return line[2]
    return None


def registry_containers(objects: list[KubeObject]) -> list[tuple[str, KubeObject]]:
    return [
        (where, container)
        for where, container, _ in all_containers(objects)
        if module_run_by(container) == "registry_local"
    ]


def registry_probe_violations(objects: list[KubeObject]) -> list[str]:
    """Registry containers whose readiness or liveness probe is not GET /readyz/health."""
    found = []
    for where, container in registry_containers(objects):
        for probe in ("readinessProbe", "livenessProbe"):
            path = container.get(probe, {}).get("httpGet", {}).get("path")
            if path != REGISTRY_HEALTH_PATH:
                found.append(f"{where}: {probe} path is {path!r}, not {REGISTRY_HEALTH_PATH}")
    return found


def database_secret_violations(objects: list[KubeObject]) -> list[str]:
    """Registry containers whose database URL is not read from a Secret."""
    found = []
    for where, container in registry_containers(objects):
        if any(arg.startswith("--database-url") for arg in command_line(container)):
            found.append(f"{where}: the database URL is given on the command line")
        env = {item["name"]: item for item in container.get("env", [])}
        source = env.get(REGISTRY_DATABASE_ENV, {}).get("valueFrom", {})
        if "secretKeyRef" not in source:
            found.append(f"{where}: {REGISTRY_DATABASE_ENV} does not come from a Secret")
    return found


def rbac_violations(objects: list[KubeObject]) -> list[str]:
    """Cluster-wide RBAC, or Role rules beyond KServe InferenceServices."""
    found = [
        f"{name_of(obj)}: cluster-wide RBAC"
        for obj in objects
        if obj.get("kind") in CLUSTER_WIDE_KINDS
    ]
    for role in (obj for obj in objects if obj.get("kind") == "Role"):
        problems = (rule_problem(rule) for rule in role["rules"])
        found += [f"{name_of(role)}: {problem}" for problem in problems if problem]
    for binding in (obj for obj in objects if obj.get("kind") == "RoleBinding"):
        found += binding_problems(binding)
    return found


def rule_problem(rule: KubeObject) -> str | None:
    """What is wrong with one Role rule, if anything."""
    if rule.get("apiGroups") != [CONTROLLER_API_GROUP]:
        return f"rule on API groups {rule.get('apiGroups')}"
    if not set(rule.get("resources", [])) <= CONTROLLER_RESOURCES:
        return f"rule on resources {rule.get('resources')}"
    if "*" in rule.get("verbs", []) or "nonResourceURLs" in rule:
        return "wildcard verbs or non-resource URLs"
    return None


def binding_problems(binding: KubeObject) -> list[str]:
    """A RoleBinding must bind a Role to ServiceAccounts of its own namespace."""
    namespace = binding["metadata"].get("namespace")
    found = []
    if binding["roleRef"]["kind"] != "Role":
        found.append(f"{name_of(binding)}: binds a {binding['roleRef']['kind']}")
    for subject in binding.get("subjects", []):
        if subject["kind"] != "ServiceAccount" or subject.get("namespace") != namespace:
            found.append(f"{name_of(binding)}: subject {subject} outside the namespace")
    return found


def service_violations(objects: list[KubeObject]) -> list[str]:
    """Services whose selector matches no pods, or whose target port those pods lack."""
    found = []
    for service in (obj for obj in objects if obj.get("kind") == "Service"):
        pods = matching_pod_specs(objects, service["spec"].get("selector", {}))
        if not pods:
            found.append(f"{name_of(service)}: selector matches no pod template")
            continue
        ports = container_ports(pods)
        for port in service["spec"]["ports"]:
            if port.get("targetPort", port["port"]) not in ports:
                found.append(f"{name_of(service)}: no container port {port.get('targetPort')}")
    return found


def matching_pod_specs(objects: list[KubeObject], selector: dict[str, str]) -> list[KubeObject]:
    """Pod specs of the workloads whose pod labels include every selector label."""
    return [
        workload["spec"]["template"]["spec"]
        for workload, _ in pod_specs(objects)
        if selector
        and selector.items() <= workload["spec"]["template"]["metadata"]["labels"].items()
    ]


def container_ports(pods: list[KubeObject]) -> set[str | int]:
    """Every port name and number the containers of these pods declare."""
    declared = [port for pod in pods for c in containers(pod) for port in c.get("ports", [])]
    return {port["containerPort"] for port in declared} | {
        port["name"] for port in declared if "name" in port
    }


def secret_violations(objects: list[KubeObject]) -> list[str]:
    """Secrets rendered with values: real credentials must never be committed."""
    return [
        f"{name_of(obj)}: a Secret with values is part of the manifests"
        for obj in objects
        if obj.get("kind") == "Secret" and (obj.get("data") or obj.get("stringData"))
    ]


def referenced_secrets(objects: list[KubeObject]) -> dict[str, set[str]]:
    """Secret name -> the keys the containers read from it (empty set: the whole Secret)."""
    found: dict[str, set[str]] = {}
    for _, container, _ in all_containers(objects):
        for item in container.get("env", []):
            ref = item.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                found.setdefault(ref["name"], set()).add(ref["key"])
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                found.setdefault(source["secretRef"]["name"], set())
    return found
