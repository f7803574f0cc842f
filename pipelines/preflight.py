"""Before a local run trains anything: can the registry and the S3 bucket be reached?

A run that would train for a minute and then fail to publish says so in a second instead.
"""

from __future__ import annotations

from pipelines.params import PipelineParams

REGISTRY_PROBE = "/api/model_registry/v1alpha3/registered_models"


class PreflightError(RuntimeError):
    """The registry or the S3 bucket the run publishes to cannot be used."""


def check_registry(registry_url: str, timeout: float = 5.0) -> None:
    """Raise PreflightError unless the registry answers its REST API at `registry_url`."""
    import httpx

    url = registry_url.rstrip("/") + REGISTRY_PROBE
    try:
        response = httpx.get(url, params={"pageSize": 1}, timeout=timeout)
    except httpx.HTTPError as exc:
        raise PreflightError(
            f"Cannot reach the model registry at {registry_url} ({type(exc).__name__}): start it "
            "(`make registry` or `make up`) or set MODEL_REGISTRY_URL / --registry-url."
        ) from exc
    if response.status_code != 200:
        raise PreflightError(
            f"{url} answered HTTP {response.status_code}, not a Model Registry REST API: "
            "check MODEL_REGISTRY_URL / --registry-url."
        )


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
