"""deploy/k8s exposes the inference server's gRPC port as ModelMesh does (8033, `grpc`)."""

from __future__ import annotations

from k8s_rules import KubeObject, all_containers, module_run_by

from serving.settings import ServerSettings


def serving_container(objects: list[KubeObject]) -> KubeObject:
    return next(c for _, c, _ in all_containers(objects) if module_run_by(c) == "serving")


def test_serving_container_listens_for_grpc_on_its_named_port(
    default_render: list[KubeObject],
) -> None:
    container = serving_container(default_render)
    env = {item["name"]: item.get("value") for item in container["env"]}
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports == {"http": 8008, "grpc": 8033}
    assert int(env["SERVING_GRPC_PORT"]) == ports["grpc"] == ServerSettings().grpc_port
    assert env["SERVING_HOST"] == "0.0.0.0"  # the gRPC listener binds the same host


def test_serving_service_routes_grpc_as_h2c(default_render: list[KubeObject]) -> None:
    services = [o for o in default_render if o["kind"] == "Service"]
    service = next(o for o in services if o["metadata"]["name"] == "mnist-serving")
    grpc = next(port for port in service["spec"]["ports"] if port["name"] == "grpc")
    assert grpc == {"name": "grpc", "port": 8033, "targetPort": "grpc",
                    "appProtocol": "kubernetes.io/h2c"}  # fmt: skip
