"""The controller's settings (`python -m serving.controller --help` lists them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from serving.settings import Setting, load_settings, parse_list

CONTROLLER_SETTINGS: tuple[Setting, ...] = (
    Setting("registry_url", "MODEL_REGISTRY_URL", "http://localhost:8080",
            "Model Registry REST URL."),
    Setting("registry_prefix", "MODEL_REGISTRY_API_PREFIX", "/api/model_registry/v1alpha3",
            "Path prefix of the registry API the controller calls."),
    Setting("registry_token", "MODEL_REGISTRY_TOKEN", "",
            "Bearer token for the registry (when it requires one)."),
    Setting("serving_url", "SERVING_URL", "http://localhost:8008",
            "Inference server REST URL the controller loads models into."),
    Setting("public_url", "SERVING_PUBLIC_URL", "",
            "Inference server URL written to each InferenceService's `url` (default: "
            "--serving-url)."),
    Setting("serving_token", "SERVING_AUTH_TOKEN", "",
            "Bearer token for the inference server's repository API (when it requires one)."),
    Setting("environment", "SERVING_ENVIRONMENT", "local",
            "Name of the ServingEnvironment to reconcile (created when missing)."),
    Setting("runtime", "SERVING_RUNTIME", "mmserver1",
            "InferenceService runtime(s) this controller serves, comma-separated.", parse_list),
    Setting("interval", "CONTROLLER_INTERVAL", "1", "Seconds between reconcile passes.", float),
    Setting("bucket", "AWS_S3_BUCKET", "models", "S3 bucket artifacts may come from."),
    Setting("extra_buckets", "SERVING_ALLOWED_BUCKETS", "",
            "Further allowed S3 buckets, comma-separated.", parse_list),
    Setting("backoff_initial", "CONTROLLER_BACKOFF_INITIAL", "1",
            "Seconds before the first retry of a failed load (doubling each time).", float),
    Setting("backoff_max", "CONTROLLER_BACKOFF_MAX", "30",
            "Longest wait between retries of a failed load, in seconds.", float),
    Setting("request_timeout", "CONTROLLER_REQUEST_TIMEOUT", "5",
            "Seconds to wait for the registry or the server to answer.", float),
    Setting("load_timeout", "CONTROLLER_LOAD_TIMEOUT", "120",
            "Seconds to wait for the server to load one model.", float),
    Setting("log_level", "CONTROLLER_LOG_LEVEL", "info", "Log level (debug, info, warning)."),
)  # fmt: skip


@dataclass(frozen=True)
class ControllerSettings:
    """Resolved controller settings."""

    registry_url: str = "http://localhost:8080"
    registry_prefix: str = "/api/model_registry/v1alpha3"
    registry_token: str = ""
    serving_url: str = "http://localhost:8008"
    public_url: str = ""
    serving_token: str = ""
    environment: str = "local"
    runtime: tuple[str, ...] = ("mmserver1",)
    interval: float = 1.0
    bucket: str = "models"
    extra_buckets: tuple[str, ...] = ()
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    request_timeout: float = 5.0
    load_timeout: float = 120.0
    log_level: str = "info"

    @classmethod
    def from_args(
        cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> ControllerSettings:
        """Build from CLI flags, then env vars, then defaults."""
        description = "Reconcile Model Registry InferenceServices onto the inference server."
        values = load_settings(
            "python -m serving.controller", description, CONTROLLER_SETTINGS, argv, environ
        )
        return cls(**values)

    @property
    def allowed_buckets(self) -> frozenset[str]:
        return frozenset({self.bucket, *self.extra_buckets})

    @property
    def owner(self) -> str:
        """The owner label put on every model this controller loads."""
        return f"model-controller/{self.environment}"

    def model_url(self, name: str) -> str:
        """The `url` recorded on an InferenceService: its model's base URL on the server."""
        base = (self.public_url or self.serving_url).rstrip("/")
        return f"{base}/v2/models/{name}"
