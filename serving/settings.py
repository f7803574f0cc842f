"""The inference server's settings (`python -m serving --help` lists them), and the artifact
sources it shares with the controller.

The shape is every part's (`contracts.settings`): a CLI flag beats an env var beats the
default; resolved in `main()`, never at import. Where S3, the OCI registry and the gRPC port
are by default is the parts' contract (`contracts.defaults`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from contracts import defaults as contract
from contracts.defaults import port_of
from contracts.settings import (
    Setting,
    boolean,
    comma_list,
    load_settings,
    number,
    port_number,
    settings_parser,
    whole_number,
)
from serving.batching import BatchSettings

# Where artifacts may come from: the same allow-lists for the server and the controller.
ARTIFACT_SOURCE_SETTINGS: tuple[Setting, ...] = (
    contract.S3_BUCKET.setting("bucket", "S3 bucket artifacts may come from."),
    Setting("extra_buckets", "SERVING_ALLOWED_BUCKETS", "",
            "Further allowed S3 buckets, comma-separated.", comma_list),
    contract.OCI_REGISTRY.setting("oci_registry",
            "The OCI registry (host:port, or host:port/namespace to allow only that path) "
            "modelcars (oci:// URIs) may come from."),
    Setting("extra_oci_registries", "SERVING_ALLOWED_OCI_REGISTRIES", "",
            "Further allowed OCI registries (host:port), comma-separated.", comma_list),
)  # fmt: skip


def allow_list(first: str, extra: Sequence[str]) -> frozenset[str]:
    """An allow-list setting and its extra entries, empty entries dropped."""
    return frozenset({first, *extra} - {""})


@dataclass(frozen=True)
class ArtifactSources:
    """The resolved `ARTIFACT_SOURCE_SETTINGS`: the server's and the controller's settings both
    extend it, so both allow the same buckets and registries."""

    bucket: str = contract.S3_BUCKET.default
    extra_buckets: tuple[str, ...] = ()
    oci_registry: str = contract.OCI_REGISTRY.default
    extra_oci_registries: tuple[str, ...] = ()

    @property
    def allowed_buckets(self) -> frozenset[str]:
        return allow_list(self.bucket, self.extra_buckets)

    @property
    def allowed_oci_registries(self) -> frozenset[str]:
        return allow_list(self.oci_registry, self.extra_oci_registries)


SERVER_SETTINGS: tuple[Setting, ...] = (
    Setting("host", "SERVING_HOST", "127.0.0.1", "Interface to listen on."),
    Setting("port", "SERVING_PORT", str(port_of(contract.SERVING_URL.default)),
            "TCP port of the REST API.", port_number),
    contract.SERVING_GRPC_PORT.setting("grpc_port",
            "TCP port of the OIP v2 gRPC service, on the same --host (0 = no gRPC listener).",
            port_number),
    Setting("max_body_bytes", "SERVING_MAX_BODY_BYTES", str(64 * 1024 * 1024),
            "Largest request body accepted; bigger bodies get 413 (gRPC: the largest message "
            "received; bigger ones get RESOURCE_EXHAUSTED).", whole_number),
    Setting("request_read_timeout", "SERVING_REQUEST_READ_TIMEOUT", "30",
            "Seconds a client has to send a whole request, counted from its first byte (from "
            "the connection for the first request). REST: a head still incomplete then gets "
            "408 and an incomplete body a closed connection; gRPC: a connection without its "
            "HTTP/2 preface gets GOAWAY and a call still sending is reset (0 = no limit).",
            number),
    Setting("auth_token", "SERVING_AUTH_TOKEN", "",
            "When set, /v2/repository/* and the gRPC Repository* RPCs require "
            "`Authorization: Bearer <token>`."),
    contract.S3_ENDPOINT.setting("s3_endpoint", "The one S3 endpoint artifacts are fetched from."),
    *ARTIFACT_SOURCE_SETTINGS,
    contract.S3_ACCESS_KEY.setting("access_key", "S3 access key."),
    contract.S3_SECRET_KEY.setting("secret_key", "S3 secret key."),
    contract.S3_REGION.setting("region", "S3 region."),
    Setting("oci_timeout", "SERVING_OCI_TIMEOUT", "5",
            "Seconds to wait for the OCI registry to connect or answer before a load fails.",
            number),
    Setting("oci_pull_timeout", "SERVING_OCI_PULL_TIMEOUT", "120",
            "Seconds a whole modelcar pull (manifest, config, every layer) may take before the "
            "load fails.", number),
    Setting("oci_redirect_hosts", "SERVING_OCI_REDIRECT_HOSTS", "",
            "Hosts (host[:port]) an OCI registry may redirect a pull to, comma-separated, "
            "beside the registry's own host; redirects elsewhere are refused.", comma_list),
    Setting("s3_timeout", "SERVING_S3_TIMEOUT", "5",
            "Seconds to wait for S3 to connect or answer before a load fails.", number),
    Setting("max_artifact_bytes", "SERVING_MAX_ARTIFACT_BYTES", str(512 * 1024 * 1024),
            "Largest model or golden file fetched; bigger artifacts are refused.", whole_number),
    Setting("golden_atol", "SERVING_GOLDEN_ATOL", "1e-4",
            "Absolute tolerance when comparing a model's outputs with its golden file.", number),
    Setting("golden_rtol", "SERVING_GOLDEN_RTOL", "1e-3",
            "Relative tolerance when comparing a model's outputs with its golden file.", number),
    Setting("ort_threads", "SERVING_ORT_THREADS", "1",
            "onnxruntime intra-op threads per model for runs on the event loop "
            "(0 = onnxruntime's default, one per core).", whole_number),
    Setting("ort_threads_large", "SERVING_ORT_THREADS_LARGE", "0",
            "onnxruntime intra-op threads for runs of more than --inline-max-rows rows "
            "(0 = one per core; a second session per model unless it equals --ort-threads).",
            whole_number),
    Setting("inline_max_rows", "SERVING_INLINE_MAX_ROWS", "64",
            "onnxruntime runs of at most this many rows run on the event loop; bigger ones on "
            "a worker thread so they do not stall other requests (on the loop too when no "
            "other request is under way).", whole_number),
    Setting("max_batch_size", "SERVING_MAX_BATCH_SIZE", "32",
            "Most rows stacked into one onnxruntime run from concurrent requests for the same "
            "model (1 = no batching).", whole_number),
    Setting("max_batch_time", "SERVING_MAX_BATCH_TIME", "0",
            "Seconds a queued request may wait for others to stack with (0 = only those "
            "that arrive together or while the previous batch runs).", number),
    Setting("access_log", "SERVING_ACCESS_LOG", "false", "Log every request.", boolean),
    Setting("log_level", "SERVING_LOG_LEVEL", "info", "Log level (debug, info, warning)."),
)  # fmt: skip


@dataclass(frozen=True)
class ServerSettings(ArtifactSources):
    """Resolved inference server settings."""

    host: str = "127.0.0.1"
    port: int = port_of(contract.SERVING_URL.default)
    grpc_port: int = int(contract.SERVING_GRPC_PORT.default)
    max_body_bytes: int = 64 * 1024 * 1024
    request_read_timeout: float = 30.0
    auth_token: str = ""
    s3_endpoint: str = contract.S3_ENDPOINT.default
    access_key: str = contract.S3_ACCESS_KEY.default
    secret_key: str = contract.S3_SECRET_KEY.default
    region: str = contract.S3_REGION.default
    oci_timeout: float = 5.0
    oci_pull_timeout: float = 120.0
    oci_redirect_hosts: tuple[str, ...] = ()
    s3_timeout: float = 5.0
    max_artifact_bytes: int = 512 * 1024 * 1024
    golden_atol: float = 1e-4
    golden_rtol: float = 1e-3
    ort_threads: int = 1
    ort_threads_large: int = 0
    inline_max_rows: int = 64
    max_batch_size: int = 32
    max_batch_time: float = 0.0
    access_log: bool = False
    log_level: str = "info"

    @classmethod
    def from_args(
        cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> ServerSettings:
        """Build from CLI flags, then env vars, then defaults."""
        description = "Open Inference Protocol v2 server for ONNX models (onnxruntime)."
        parser = settings_parser("python -m serving", description, SERVER_SETTINGS)
        return cls(**load_settings(parser, SERVER_SETTINGS, argv, environ))

    @property
    def batching(self) -> BatchSettings:
        return BatchSettings(self.max_batch_size, self.max_batch_time, self.inline_max_rows)
