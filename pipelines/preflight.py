"""Before a local run trains anything: can the registry and the S3 bucket be reached?

A run that would train for a minute and then fail to publish says so in a second instead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.params import PipelineParams

if TYPE_CHECKING:
    from mr_client import RegistryError


class PreflightError(RuntimeError):
    """The registry or the S3 bucket the run publishes to cannot be used."""


def check_registry(registry_url: str, timeout: float = 5.0) -> None:
    """Raise PreflightError unless the registry answers its REST API at `registry_url`."""
    from mr_client import RegistryClient, RegistryError

    with RegistryClient(registry_url, timeout=timeout) as registry:
        try:
            registry.probe()
        except RegistryError as exc:
            raise PreflightError(preflight_message(registry_url, exc)) from exc


def preflight_message(registry_url: str, exc: RegistryError) -> str:
    """What to fix: start the registry, or point MODEL_REGISTRY_URL at a real one."""
    status = getattr(exc, "status", None)
    if status is None:
        cause = exc.__cause__ or exc
        return (f"Cannot reach the model registry at {registry_url} ({type(cause).__name__}): "
                "start it (`make registry` or `make up`) or set MODEL_REGISTRY_URL / "
                "--registry-url.")  # fmt: skip
    return (f"{registry_url} answered HTTP {status} ({exc}), not a Model Registry REST API: "
            "check MODEL_REGISTRY_URL / --registry-url.")  # fmt: skip


def check_bucket(endpoint: str, bucket: str) -> None:
    """Raise PreflightError unless the bucket exists and the AWS_* credentials work."""
    from training.storage import StorageError, StorageSettings
    from training.storage import check_bucket as check_storage

    try:
        check_storage(StorageSettings.from_env(endpoint=endpoint, bucket=bucket))
    except StorageError as exc:
        raise PreflightError(str(exc)) from exc


def check_reachable(params: PipelineParams) -> None:
    """Both checks, registry first."""
    check_registry(params.registry_url)
    check_bucket(params.s3_endpoint, params.s3_bucket)
