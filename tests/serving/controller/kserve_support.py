"""Helpers for the KServe target tests: registry entities over REST, a kubeconfig for the
fake API server, and playing KServe's part (writing a resource's status)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml
from kubernetes import client

NAMESPACE = "mnist-model-registry"
ENVIRONMENT = "mnist-model-registry"
GROUP_VERSION = ("serving.kserve.io", "v1beta1")


def write_kubeconfig(path: Path, server: str, namespace: str | None = None) -> Path:
    """A kubeconfig whose current context is the fake API server (token auth)."""
    context: dict[str, str] = {"cluster": "fake", "user": "controller"}
    if namespace:
        context["namespace"] = namespace
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "controller", "user": {"token": "fake-service-account-token"}}],
        "contexts": [{"name": "fake", "context": context}],
        "current-context": "fake",
    }
    path.write_text(yaml.safe_dump(document))
    return path


class RegistryData:
    """Creates and reads registry entities the way the notebooks and curl users do."""

    def __init__(self, registry_url: str) -> None:
        self.api = f"{registry_url}/api/model_registry/v1alpha3"

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{self.api}{path}", json=body)
        assert response.status_code in (200, 201), response.text
        return dict(response.json())

    def get(self, path: str, **params: str) -> dict[str, Any]:
        response = httpx.get(f"{self.api}{path}", params=params)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def environment(self, name: str = ENVIRONMENT) -> str:
        return str(self.post("/serving_environments", {"name": name})["id"])

    def model(self, name: str = "MNIST") -> str:
        return str(self.post("/registered_models", {"name": name})["id"])

    def version(self, model_id: str, name: str, **artifact: Any) -> str:
        """A version with one ONNX model artifact (the project's contract, overridable)."""
        version_id = str(
            self.post("/model_versions", {"name": name, "registeredModelId": model_id})["id"]
        )
        body = {
            "artifactType": "model-artifact",
            "name": f"model-{name}",
            "uri": f"s3://models/MNIST/{name}/model.onnx",
            "modelFormatName": "onnx",
            "modelFormatVersion": "1",
            "storageKey": "aws-connection-models",
            "storagePath": f"MNIST/{name}",
            **artifact,
        }
        self.post(
            f"/model_versions/{version_id}/artifacts",
            {k: v for k, v in body.items() if v is not None},
        )
        return version_id

    def service(self, environment_id: str, name: str, model_id: str, **fields: Any) -> str:
        body = {
            "name": name,
            "registeredModelId": model_id,
            "runtime": "mmserver1",
            "desiredState": "DEPLOYED",
            "servingEnvironmentId": environment_id,
            **fields,
        }
        return str(self.post("/inference_services", body)["id"])

    def patch_service(self, service_id: str, **fields: Any) -> None:
        response = httpx.patch(f"{self.api}/inference_services/{service_id}", json=fields)
        assert response.status_code == 200, response.text

    def serves(self, service_id: str) -> list[tuple[str, str, str]]:
        items = self.get(f"/inference_services/{service_id}/serves", orderBy="ID", sortOrder="ASC")[
            "items"
        ]
        return [(i["modelVersionId"], i["lastKnownState"], i.get("description", "")) for i in items]

    def url_of(self, service_id: str) -> str | None:
        properties = self.get(f"/inference_services/{service_id}").get("customProperties") or {}
        return (properties.get("url") or {}).get("string_value")

    def environment_names(self) -> list[str]:
        return [item["name"] for item in self.get("/serving_environments")["items"]]


class KServePlayer:
    """Plays KServe's controller: writes `status` through the status subresource."""

    def __init__(self, server: str, namespace: str = NAMESPACE) -> None:
        configuration = client.Configuration(host=server)
        self.api = client.CustomObjectsApi(client.ApiClient(configuration))
        self.namespace = namespace

    def resource(self, name: str) -> dict[str, Any]:
        return dict(
            self.api.get_namespaced_custom_object(
                *GROUP_VERSION, self.namespace, "inferenceservices", name
            )
        )

    def set_status(self, name: str, status: dict[str, Any]) -> None:
        generation = self.resource(name)["metadata"]["generation"]
        body = {"status": {"observedGeneration": generation, **status}}
        self.api.patch_namespaced_custom_object_status(
            *GROUP_VERSION, self.namespace, "inferenceservices", name, body
        )

    def patch(self, name: str, body: dict[str, Any]) -> None:
        self.api.patch_namespaced_custom_object(
            *GROUP_VERSION, self.namespace, "inferenceservices", name, body
        )

    def create(self, body: dict[str, Any]) -> None:
        self.api.create_namespaced_custom_object(
            *GROUP_VERSION, self.namespace, "inferenceservices", body
        )

    def ready_modelmesh(self, name: str) -> None:
        """Status as ModelMesh reports a loaded model (gRPC status.url, REST on the predictor)."""
        self.set_status(
            name,
            {
                "url": f"grpc://modelmesh-serving.{self.namespace}:8033",
                "components": {
                    "predictor": {"restUrl": f"http://modelmesh-serving.{self.namespace}:8008"}
                },
                "conditions": [{"type": "Ready", "status": "True"}],
                "modelStatus": {
                    "transitionStatus": "UpToDate",
                    "states": {"activeModelState": "Loaded"},
                },
            },
        )

    def failed_load(self, name: str, message: str) -> None:
        self.set_status(
            name,
            {
                "conditions": [{"type": "Ready", "status": "False", "reason": "ModelLoadFailed"}],
                "modelStatus": {
                    "transitionStatus": "BlockedByFailedLoad",
                    "states": {"activeModelState": "FailedToLoad"},
                    "lastFailureInfo": {"reason": "ModelLoadFailed", "message": message},
                },
            },
        )
