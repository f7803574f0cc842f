"""Composition: settings → artifact store, OCI puller → loader → repository → data plane →
REST and gRPC (both front ends over the one data plane)."""

from __future__ import annotations

from serving.artifacts import ArtifactStore, S3Config
from serving.dataplane import DataPlane
from serving.grpc_api import GrpcServer, GrpcSettings
from serving.loader import LoaderSettings, ModelLoader
from serving.metrics import ServingMetrics
from serving.oci import OciConfig, OciPuller
from serving.repository import ModelRepository
from serving.rest import ApiSettings, RestApi
from serving.settings import ServerSettings


def create_dataplane(settings: ServerSettings) -> DataPlane:
    """The data plane: models fetched from S3 or an OCI registry, run by onnxruntime."""
    s3 = S3Config(
        endpoint=settings.s3_endpoint, access_key=settings.access_key,
        secret_key=settings.secret_key, region=settings.region,
        allowed_buckets=settings.allowed_buckets, timeout=settings.s3_timeout,
        max_bytes=settings.max_artifact_bytes,
    )  # fmt: skip
    oci = OciConfig(
        allowed_registries=settings.allowed_oci_registries, timeout=settings.oci_timeout,
        max_bytes=settings.max_artifact_bytes, pull_timeout=settings.oci_pull_timeout,
        redirect_hosts=frozenset(host.lower() for host in settings.oci_redirect_hosts),
    )  # fmt: skip
    loader_settings = LoaderSettings(
        settings.ort_threads, settings.ort_threads_large, settings.golden_atol,
        settings.golden_rtol,
    )  # fmt: skip
    loader = ModelLoader(ArtifactStore(s3), loader_settings, OciPuller(oci))
    return DataPlane(ModelRepository(), loader, ServingMetrics(), settings.batching)


def create_app(settings: ServerSettings) -> RestApi:
    """The ASGI application for `settings` (no model loaded yet)."""
    api_settings = ApiSettings(settings.max_body_bytes, settings.auth_token)
    return RestApi(create_dataplane(settings), api_settings)


def create_servers(settings: ServerSettings) -> tuple[RestApi, GrpcServer | None]:
    """The REST app and, unless `--grpc-port 0`, the gRPC server, over one data plane."""
    rest = create_app(settings)
    if not settings.grpc_port:
        return rest, None
    grpc_settings = GrpcSettings(
        settings.host, settings.grpc_port, settings.max_body_bytes, settings.auth_token,
        settings.request_read_timeout,
    )  # fmt: skip
    return rest, GrpcServer(rest.dataplane, grpc_settings)
