"""deploy/k8s, rendered with `kubectl kustomize` and checked offline (no cluster is contacted)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from k8s_rules import (
    K8S_DIR,
    REPO,
    KubeObject,
    RenderError,
    all_containers,
    database_secret_violations,
    image_pin_violations,
    module_run_by,
    non_root_violations,
    rbac_violations,
    referenced_secrets,
    registry_probe_violations,
    render,
    resource_violations,
    schema_violations,
    secret_violations,
    service_violations,
)

Rule = Callable[[list[KubeObject]], list[str]]
Mutation = Callable[[list[KubeObject]], None]

# Oldest and newest Kubernetes minor versions the manifests are validated against.
KUBERNETES_VERSIONS = ("1.29.0", "1.37.0")
NAMESPACE = "mnist-model-registry"
RULES: tuple[Rule, ...] = (
    image_pin_violations,
    resource_violations,
    non_root_violations,
    registry_probe_violations,
    database_secret_violations,
    rbac_violations,
    service_violations,
    secret_violations,
)


def find(objects: list[KubeObject], kind: str, name: str) -> KubeObject:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def container_running(objects: list[KubeObject], module: str) -> KubeObject:
    return next(c for _, c, _ in all_containers(objects) if module_run_by(c) == module)


@pytest.mark.parametrize("kubernetes_version", KUBERNETES_VERSIONS)
def test_validate_rendered_objects_against_kubernetes_schema(
    rendered: list[KubeObject], kubernetes_version: str
) -> None:
    assert rendered
    assert schema_violations(rendered, kubernetes_version) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.__name__)
def test_check_rendered_objects_follow_project_rule(rendered: list[KubeObject], rule: Rule) -> None:
    assert rule(rendered) == []


def test_render_default_deploys_every_part(default_render: list[KubeObject]) -> None:
    kinds_and_names = {(o["kind"], o["metadata"]["name"]) for o in default_render}
    assert {
        ("Deployment", "model-registry"),
        ("Service", "model-registry-service"),
        ("Deployment", "mnist-serving"),
        ("Service", "mnist-serving"),
        ("ServiceAccount", "model-controller"),
        ("Role", "model-controller"),
        ("RoleBinding", "model-controller"),
        ("Deployment", "model-controller"),
        ("Deployment", "mnist-app"),
        ("Service", "mnist-app"),
    } <= kinds_and_names
    assert {module_run_by(c) for _, c, _ in all_containers(default_render)} == {
        "registry_local",
        "serving",
        "serving.controller",
        "streamlit",
    }


def test_render_default_puts_everything_in_one_namespace(default_render: list[KubeObject]) -> None:
    assert {o["metadata"].get("namespace") for o in default_render} == {NAMESPACE}
    binding = find(default_render, "RoleBinding", "model-controller")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "model-controller", "namespace": NAMESPACE}
    ]


def test_render_default_controller_uses_its_service_account(
    default_render: list[KubeObject],
) -> None:
    controller = find(default_render, "Deployment", "model-controller")
    assert controller["spec"]["template"]["spec"]["serviceAccountName"] == "model-controller"


def test_render_default_points_clients_at_in_namespace_services(
    default_render: list[KubeObject],
) -> None:
    config = next(o for o in default_render if o["kind"] == "ConfigMap")
    assert config["data"]["MODEL_REGISTRY_URL"] == "http://model-registry-service:8080"
    assert config["data"]["SERVING_URL"] == "http://mnist-serving:8008"
    for module in ("serving.controller", "streamlit"):
        sources = container_running(default_render, module)["envFrom"]
        assert {"configMapRef": {"name": config["metadata"]["name"]}} in sources


def secret_key_of(container: KubeObject, env_name: str) -> tuple[str, str]:
    item = next(item for item in container["env"] if item["name"] == env_name)
    ref = item["valueFrom"]["secretKeyRef"]
    return ref["name"], ref["key"]


def test_render_default_controller_sends_the_token_the_server_requires(
    default_render: list[KubeObject],
) -> None:
    server = container_running(default_render, "serving")
    controller = container_running(default_render, "serving.controller")
    assert secret_key_of(server, "SERVING_AUTH_TOKEN") == ("mnist-serving-auth", "token")
    assert secret_key_of(controller, "SERVING_AUTH_TOKEN") == ("mnist-serving-auth", "token")


def test_render_default_controller_gets_the_bucket_but_no_s3_credentials(
    default_render: list[KubeObject],
) -> None:
    controller = container_running(default_render, "serving.controller")
    env_names = {item["name"] for item in controller["env"]}
    assert secret_key_of(controller, "AWS_S3_BUCKET") == ("aws-connection-models", "AWS_S3_BUCKET")
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"} & env_names
    assert all("secretRef" not in source for source in controller["envFrom"])


def test_render_external_registry_overlay_drops_the_bundled_registry(
    renders: dict[Path, list[KubeObject]],
) -> None:
    objects = renders[K8S_DIR / "overlays" / "external-registry"]
    names = {o["metadata"]["name"] for o in objects}
    assert not {"model-registry", "model-registry-service"} & names
    config = next(o for o in objects if o["kind"] == "ConfigMap")
    assert config["data"]["MODEL_REGISTRY_URL"].startswith("http://model-registry-service.kubeflow")
    assert "model-registry-db" not in referenced_secrets(objects)


def test_render_missing_resource_raises_render_error(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources:\n  - missing.yaml\n")
    with pytest.raises(RenderError, match="missing.yaml"):
        render(tmp_path)


def test_document_every_secret_and_key_the_manifests_read(
    renders: dict[Path, list[KubeObject]],
) -> None:
    guide = (REPO / "docs" / "kubernetes.md").read_text()
    for objects in renders.values():
        for secret, keys in referenced_secrets(objects).items():
            assert secret in guide
            assert all(key in guide for key in keys)


def set_registry_probe_path(objects: list[KubeObject]) -> None:
    container_running(objects, "registry_local")["livenessProbe"]["httpGet"]["path"] = "/"


def put_database_url_in_env(objects: list[KubeObject]) -> None:
    env = container_running(objects, "registry_local")["env"]
    for item in env:
        if item["name"] == "MR_DATABASE_URL":
            item.pop("valueFrom")
            item["value"] = "postgresql+psycopg://user:password@db:5432/registry"


def pass_database_url_flag(objects: list[KubeObject]) -> None:
    container = container_running(objects, "registry_local")
    container["args"] = ["--database-url", "postgresql+psycopg://user:password@db/registry"]


def make_role_cluster_wide(objects: list[KubeObject]) -> None:
    find(objects, "Role", "model-controller")["kind"] = "ClusterRole"


def grant_secrets(objects: list[KubeObject]) -> None:
    rule = {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}
    find(objects, "Role", "model-controller")["rules"].append(rule)


def grant_every_verb(objects: list[KubeObject]) -> None:
    find(objects, "Role", "model-controller")["rules"][0]["verbs"] = ["*"]


def bind_foreign_subject(objects: list[KubeObject]) -> None:
    subject = find(objects, "RoleBinding", "model-controller")["subjects"][0]
    subject["namespace"] = "kube-system"


def use_latest_image(objects: list[KubeObject]) -> None:
    container_running(objects, "serving")["image"] = "mnist-model-registry-demo:latest"


def use_untagged_image(objects: list[KubeObject]) -> None:
    container_running(objects, "serving")["image"] = "registry.example:5000/mnist-demo"


def drop_memory_limit(objects: list[KubeObject]) -> None:
    del container_running(objects, "serving.controller")["resources"]["limits"]["memory"]


def run_as_root(objects: list[KubeObject]) -> None:
    container = container_running(objects, "streamlit")
    container["securityContext"].update(runAsNonRoot=False, runAsUser=0)


def allow_privilege_escalation(objects: list[KubeObject]) -> None:
    container_running(objects, "streamlit")["securityContext"]["allowPrivilegeEscalation"] = True


def break_service_selector(objects: list[KubeObject]) -> None:
    find(objects, "Service", "mnist-app")["spec"]["selector"] = {"app": "nothing"}


def break_service_target_port(objects: list[KubeObject]) -> None:
    find(objects, "Service", "mnist-serving")["spec"]["ports"][0]["targetPort"] = "metrics"


def commit_a_secret(objects: list[KubeObject]) -> None:
    metadata = {"name": "model-registry-db", "namespace": NAMESPACE}
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata}
    objects.append({**secret, "stringData": {"database-url": "postgresql://u:p@db/r"}})


BROKEN: tuple[tuple[Mutation, Rule], ...] = (
    (set_registry_probe_path, registry_probe_violations),
    (put_database_url_in_env, database_secret_violations),
    (pass_database_url_flag, database_secret_violations),
    (make_role_cluster_wide, rbac_violations),
    (grant_secrets, rbac_violations),
    (grant_every_verb, rbac_violations),
    (bind_foreign_subject, rbac_violations),
    (use_latest_image, image_pin_violations),
    (use_untagged_image, image_pin_violations),
    (drop_memory_limit, resource_violations),
    (run_as_root, non_root_violations),
    (allow_privilege_escalation, non_root_violations),
    (break_service_selector, service_violations),
    (break_service_target_port, service_violations),
    (commit_a_secret, secret_violations),
)


@pytest.mark.parametrize(("mutation", "rule"), BROKEN, ids=lambda f: f.__name__)
def test_check_broken_manifest_reports_violation(
    default_render: list[KubeObject], mutation: Mutation, rule: Rule
) -> None:
    mutation(default_render)
    assert rule(default_render) != []


def misspell_field(objects: list[KubeObject]) -> None:
    container = container_running(objects, "registry_local")
    container["readinessProbes"] = container.pop("readinessProbe")


def give_port_as_text(objects: list[KubeObject]) -> None:
    container_running(objects, "serving")["ports"][0]["containerPort"] = "eight thousand"


def drop_selector(objects: list[KubeObject]) -> None:
    del find(objects, "Deployment", "mnist-app")["spec"]["selector"]


def use_unknown_kind(objects: list[KubeObject]) -> None:
    objects.append({"apiVersion": "v1", "kind": "Sevrice", "metadata": {"name": "typo"}})


@pytest.mark.parametrize(
    "mutation",
    [misspell_field, give_port_as_text, drop_selector, use_unknown_kind],
    ids=lambda f: f.__name__,
)
def test_validate_broken_object_reports_schema_violation(
    default_render: list[KubeObject], mutation: Mutation
) -> None:
    mutation(default_render)
    assert schema_violations(default_render, KUBERNETES_VERSIONS[-1]) != []
