"""The KServe InferenceService calls the controller makes, over the official `kubernetes`
client's CustomObjectsApi, with its failures turned into four error classes.

Every write asks for strict field validation, so the API server refuses unknown fields
instead of silently dropping them.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from serving.controller.kserve.resources import GROUP, PLURAL, VERSION
from serving.controller.target import TargetUnavailable

Result = TypeVar("Result")


class KubernetesConfigMissing(Exception):
    """Neither an in-cluster ServiceAccount nor a usable kubeconfig file."""


class KubernetesUnavailable(TargetUnavailable):
    """The API server could not be reached, or answered 5xx / 429."""


class KubernetesRefused(Exception):
    """The API server refused a request (400, 403, 422, ...); the message says why."""


class KubernetesNotFound(KubernetesRefused):
    """No such resource (404)."""


class KubernetesConflict(KubernetesRefused):
    """The name is taken (create) or the resource changed since it was read (update): 409."""


def api_client(kubeconfig: str) -> client.ApiClient:
    """In-cluster ServiceAccount config, else the kubeconfig file (`kubeconfig` or default)."""
    if not kubeconfig:
        try:
            config.load_incluster_config()
            return client.ApiClient()
        except config.ConfigException:
            pass
    configuration = client.Configuration()
    try:
        config.load_kube_config(config_file=kubeconfig or None, client_configuration=configuration)
    except (config.ConfigException, OSError) as exc:
        raise KubernetesConfigMissing(
            f"no Kubernetes configuration: not in a cluster, and kubeconfig "
            f"{kubeconfig or '~/.kube/config'} unusable ({exc})"
        ) from None
    return client.ApiClient(configuration)


def kubeconfig_namespace(kubeconfig: str) -> str | None:
    """The namespace of the kubeconfig's current context (None without one)."""
    try:
        _, active = config.list_kube_config_contexts(config_file=kubeconfig or None)
    except (config.ConfigException, OSError):
        return None
    return (active or {}).get("context", {}).get("namespace") or None


class InferenceServiceApi:
    """list / create / patch / delete `inferenceservices.serving.kserve.io` in one namespace."""

    def __init__(self, api: client.ApiClient, namespace: str, timeout: float) -> None:
        self.api = api
        self.custom = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.timeout = timeout

    def call(self, method: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
        try:
            return method(GROUP, VERSION, self.namespace, PLURAL, *args,
                          _request_timeout=self.timeout, **kwargs)  # fmt: skip
        except ApiException as exc:
            raise api_error(exc) from None
        except HTTPError as exc:
            raise KubernetesUnavailable(
                f"Kubernetes API unreachable ({type(exc).__name__}: {exc})"
            ) from None

    def list(self, selector: str) -> list[dict[str, Any]]:
        found = self.call(self.custom.list_namespaced_custom_object, label_selector=selector)
        return list(found.get("items") or [])

    def get(self, name: str) -> dict[str, Any]:
        return dict(self.call(self.custom.get_namespaced_custom_object, name))

    def create(self, resource: dict[str, Any]) -> dict[str, Any]:
        method = self.custom.create_namespaced_custom_object
        return dict(self.call(method, resource, field_validation="Strict"))

    def patch(self, name: str, patch: dict[str, Any]) -> dict[str, Any]:
        method = self.custom.patch_namespaced_custom_object
        return dict(self.call(method, name, patch, field_validation="Strict"))

    def delete(self, name: str) -> None:
        """Delete `name` (and what KServe made for it); gone already is fine."""
        with contextlib.suppress(KubernetesNotFound):
            self.call(self.custom.delete_namespaced_custom_object, name,
                      propagation_policy="Foreground")  # fmt: skip

    def close(self) -> None:
        self.api.close()


def api_error(exc: ApiException) -> Exception:
    """The error class for an API server answer (its Status message when there is one)."""
    status = int(exc.status or 0)
    message = f"Kubernetes API {status}: {status_message(exc)}"
    if status == 0 or status == 429 or status >= 500:
        return KubernetesUnavailable(message)
    if status == 404:
        return KubernetesNotFound(message)
    if status == 409:
        return KubernetesConflict(message)
    return KubernetesRefused(message)


def status_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "")
    except (TypeError, ValueError):
        return str(exc.reason or "no message")
    return str(body.get("message") or exc.reason) if isinstance(body, dict) else str(body)
