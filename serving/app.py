"""Composition: settings → artifact store → loader → repository → data plane → REST app."""

from __future__ import annotations

from serving.artifacts import ArtifactStore, S3Config
from serving.config import ServerSettings
from serving.dataplane import DataPlane
from serving.loader import LoaderSettings, ModelLoader
from serving.metrics import ServingMetrics
from serving.repository import ModelRepository
from serving.rest import ApiSettings, RestApi


def s3_config(settings: ServerSettings) -> S3Config:
    return S3Config(
        endpoint=settings.s3_endpoint,
        access_key=settings.access_key,
        secret_key=settings.secret_key,
        region=settings.region,
        allowed_buckets=settings.allowed_buckets,
        timeout=settings.s3_timeout,
        max_bytes=settings.max_artifact_bytes,
    )


def create_dataplane(settings: ServerSettings) -> DataPlane:
    loader_settings = LoaderSettings(
        settings.ort_threads, settings.ort_threads_large, settings.golden_atol,
        settings.golden_rtol,
    )  # fmt: skip
    loader = ModelLoader(ArtifactStore(s3_config(settings)), loader_settings)
    return DataPlane(ModelRepository(), loader, ServingMetrics(), settings.batching)


def create_app(settings: ServerSettings) -> RestApi:
    """The ASGI application for `settings` (no model loaded yet)."""
    api_settings = ApiSettings(settings.max_body_bytes, settings.auth_token)
    return RestApi(create_dataplane(settings), api_settings)
