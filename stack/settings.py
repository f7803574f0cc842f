"""The demo's settings: one table, each with its env var, default and help.

The shape every part shares (`contracts.settings`): a CLI flag beats an env var beats the
default. Built in `main()`, never at import. Where each part listens by default is the
parts' contract (`contracts.defaults`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from contracts import defaults as contract
from contracts.defaults import port_of
from contracts.settings import Setting, path, port_number, resolve
from stack.seaweed import S3Settings

SETTINGS: tuple[Setting, ...] = (
    Setting("state_dir", "STATE_DIR", ".state",
            "Directory for databases, S3 data, logs and the pid file; kept across runs.", path),
    contract.REGISTRY_URL.setting("registry_url",
            "Model registry REST URL; the demo starts registry_local on its port."),
    contract.SERVING_URL.setting("serving_url",
            "Inference server REST URL; the demo starts `python -m serving` on its port."),
    contract.SERVING_GRPC_PORT.setting("serving_grpc_port",
            "Inference server gRPC port (0: none); demo processes get SERVING_GRPC_URL, "
            "the serving URL's host and this port.", port_number),
    contract.S3_ENDPOINT.setting("s3_endpoint",
            "S3 endpoint; the demo starts SeaweedFS on its port."),
    contract.S3_BUCKET.setting("bucket", "S3 bucket holding the model artifacts."),
    contract.OCI_REGISTRY.setting("oci_registry",
            "OCI registry (host:port) for the versions' modelcar images; the demo starts "
            "docker-registry on its port."),
    contract.S3_ACCESS_KEY.setting("access_key", "S3 access key."),
    contract.S3_SECRET_KEY.setting("secret_key", "S3 secret key."),
    contract.S3_REGION.setting("region", "S3 region."),
    contract.APP_PORT.setting("app_port", "Port of the Streamlit app.", port_number),
    Setting("lab_port", "LAB_PORT", "8888",
            "Port of JupyterLab (make up, make demo, make lab; loopback, token in STATE_DIR).",
            port_number),
    contract.SERVING_ENVIRONMENT.setting("environment",
            "Name of the ServingEnvironment the controller reconciles."),
    contract.SERVING_RUNTIME.setting("runtime",
            "InferenceService runtime the controller serves (the seed's `mmserver1`)."),
)  # fmt: skip

# What every demo process gets in its environment (`service_env`): where the other parts
# are and how to sign S3 requests, not the demo's own ports and directory.
SERVICE_ENV = frozenset({
    "registry_url", "serving_url", "s3_endpoint", "bucket", "oci_registry", "access_key",
    "secret_key", "region", "environment", "runtime",
})  # fmt: skip


@dataclass(frozen=True)
class StackSettings:
    state_dir: Path
    registry_url: str
    serving_url: str
    serving_grpc_port: int
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
        return cls(**resolve(SETTINGS, overrides or {}))

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

    @property
    def serving_grpc_url(self) -> str | None:
        """Where gRPC clients find the inference server (`host:port`), None without gRPC."""
        host = urlsplit(self.serving_url).hostname or "localhost"
        return f"{host}:{self.serving_grpc_port}" if self.serving_grpc_port else None

    def service_env(self) -> dict[str, str]:
        """The environment every demo process gets: the `SERVICE_ENV` settings, each under
        its own variable, and SERVING_GRPC_URL when the inference server has gRPC."""
        env = {s.env: getattr(self, s.name) for s in SETTINGS if s.name in SERVICE_ENV}
        if self.serving_grpc_url:
            env[contract.SERVING_GRPC_URL.env] = self.serving_grpc_url
        return env
