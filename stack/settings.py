"""The demo's settings: one table, each with its env var, default and help.

A CLI flag beats an env var beats the default. Built in `main()`, never at import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from stack.seaweed import S3Settings


@dataclass(frozen=True)
class Setting:
    """One documented setting of the demo orchestration."""

    name: str
    env: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("state_dir", "STATE_DIR", ".state",
            "Directory for databases, S3 data, logs and the pid file; kept across runs."),
    Setting("registry_url", "MODEL_REGISTRY_URL", "http://localhost:8080",
            "Model registry REST URL; the demo starts registry_local on its port."),
    Setting("serving_url", "SERVING_URL", "http://localhost:8008",
            "Inference server REST URL; the demo starts `python -m serving` on its port."),
    Setting("s3_endpoint", "AWS_S3_ENDPOINT", "http://localhost:9000",
            "S3 endpoint; the demo starts SeaweedFS on its port."),
    Setting("bucket", "AWS_S3_BUCKET", "models", "S3 bucket holding the model artifacts."),
    Setting("oci_registry", "OCI_REGISTRY", "localhost:5000",
            "OCI registry (host:port) for the versions' modelcar images; the demo starts "
            "docker-registry on its port."),
    Setting("access_key", "AWS_ACCESS_KEY_ID", "demo-access-key", "S3 access key."),
    Setting("secret_key", "AWS_SECRET_ACCESS_KEY", "demo-secret-key", "S3 secret key."),
    Setting("region", "AWS_DEFAULT_REGION", "us-east-1", "S3 region."),
    Setting("app_port", "APP_PORT", "8501", "Port of the Streamlit app."),
    Setting("lab_port", "LAB_PORT", "8888",
            "Port of JupyterLab (make up, make demo, make lab; loopback, token in STATE_DIR)."),
    Setting("environment", "SERVING_ENVIRONMENT", "local",
            "Name of the ServingEnvironment the controller reconciles."),
    Setting("runtime", "SERVING_RUNTIME", "mmserver1",
            "InferenceService runtime the controller serves (the seed's `mmserver1`)."),
)  # fmt: skip


@dataclass(frozen=True)
class StackSettings:
    state_dir: Path
    registry_url: str
    serving_url: str
    s3_endpoint: str
    bucket: str
    oci_registry: str
    access_key: str
    secret_key: str
    region: str
    app_port: int
    lab_port: int
    environment: str
    runtime: str

    @classmethod
    def load(cls, overrides: Mapping[str, str | None] | None = None) -> StackSettings:
        """Resolve every setting: override (CLI) > environment > default."""
        given = {k: v for k, v in (overrides or {}).items() if v is not None}
        raw = {s.name: given.get(s.name, os.environ.get(s.env, s.default)) for s in SETTINGS}
        types = {f.name: f.type for f in fields(cls)}
        converters = {"Path": Path, "int": int}
        return cls(**{k: converters.get(str(types[k]), str)(v) for k, v in raw.items()})

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def app_url(self) -> str:
        return f"http://localhost:{self.app_port}"

    @property
    def oci_url(self) -> str:
        """The OCI registry's base URL (plain HTTP: it is on loopback), without the namespace
        path `OCI_REGISTRY` may carry (`localhost:5000/team`)."""
        return f"http://{self.oci_registry.split('/', 1)[0]}"

    @property
    def oci_port(self) -> int:
        return port_of(self.oci_url)

    def s3(self) -> S3Settings:
        """Where the demo's S3 server is, as the boto3-facing settings."""
        return S3Settings(
            self.s3_endpoint, self.bucket, self.access_key, self.secret_key, self.region
        )

    def service_env(self) -> dict[str, str]:
        """The environment every demo process gets: where the other parts are."""
        return {
            **self.s3().as_env(),
            "MODEL_REGISTRY_URL": self.registry_url,
            "SERVING_URL": self.serving_url,
            "OCI_REGISTRY": self.oci_registry,
            "SERVING_ENVIRONMENT": self.environment,
            "SERVING_RUNTIME": self.runtime,
        }


def port_of(url: str) -> int:
    """The TCP port of an http(s) URL (80/443 when not given)."""
    parts = urlsplit(url)
    if parts.port is not None:
        return parts.port
    return 443 if parts.scheme == "https" else 80
