"""The controller's settings (`python -m serving.controller --help` lists them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from contracts import defaults as contract
from contracts.settings import Setting, boolean, comma_list, load_settings, number, settings_parser
from mr_client.urls import API
from serving.names import model_path
from serving.settings import ARTIFACT_SOURCE_SETTINGS, ArtifactSources

TARGETS = ("local", "kserve")
KSERVE_MODES = ("ModelMesh", "Serverless", "RawDeployment")


def parse_target(text: str) -> str:
    value = text.strip().lower()
    if value not in TARGETS:
        raise ValueError(f"must be {' or '.join(TARGETS)} (got {text!r})")
    return value


def parse_kserve_mode(text: str) -> str:
    """A KServe deployment mode, any case (`modelmesh` → `ModelMesh`)."""
    by_lower = {mode.lower(): mode for mode in KSERVE_MODES}
    if text.strip().lower() not in by_lower:
        modes = ", ".join(KSERVE_MODES)
        raise ValueError(f"must be a KServe deployment mode, {modes} (got {text!r})")
    return by_lower[text.strip().lower()]


CONTROLLER_SETTINGS: tuple[Setting, ...] = (
    contract.REGISTRY_URL.setting("registry_url", "Model Registry REST URL."),
    Setting("registry_prefix", "MODEL_REGISTRY_API_PREFIX", API,
            "Path prefix of the registry API the controller calls."),
    Setting("registry_token", "MODEL_REGISTRY_TOKEN", "",
            "Bearer token for the registry (when it requires one)."),
    contract.SERVING_URL.setting("serving_url",
            "Inference server REST URL the controller loads models into."),
    Setting("public_url", "SERVING_PUBLIC_URL", "",
            "Inference server URL written to each InferenceService's `url` (default: "
            "--serving-url)."),
    Setting("serving_token", "SERVING_AUTH_TOKEN", "",
            "Bearer token for the inference server's repository API (when it requires one)."),
    contract.SERVING_ENVIRONMENT.setting("environment",
            "Name of the ServingEnvironment to reconcile (created when missing)."),
    contract.SERVING_RUNTIME.setting("runtime",
            "InferenceService runtime(s) this controller serves, comma-separated.", comma_list),
    Setting("interval", "CONTROLLER_INTERVAL", "1", "Seconds between reconcile passes.", number),
    *ARTIFACT_SOURCE_SETTINGS,
    Setting("backoff_initial", "CONTROLLER_BACKOFF_INITIAL", "1",
            "Seconds before the first retry of a failed load (doubling each time).", number),
    Setting("backoff_max", "CONTROLLER_BACKOFF_MAX", "30",
            "Longest wait between retries of a failed load, in seconds.", number),
    Setting("request_timeout", "CONTROLLER_REQUEST_TIMEOUT", "5",
            "Seconds to wait for the registry or the server to answer.", number),
    Setting("load_timeout", "CONTROLLER_LOAD_TIMEOUT", "120",
            "Seconds to wait for the server to load one model.", number),
    Setting("log_level", "CONTROLLER_LOG_LEVEL", "info", "Log level (debug, info, warning)."),
)  # fmt: skip

# Where models are served, and the KServe target's settings (documented in
# docs/kubernetes.md). `--dry-run` is a switch: given without a value.
TARGET_SETTINGS: tuple[Setting, ...] = (
    Setting("target", "CONTROLLER_TARGET", "local",
            "Where models are served: `local` (load into the inference server at "
            "--serving-url) or `kserve` (create serving.kserve.io/v1beta1 InferenceService "
            "resources).", parse_target),
    Setting("kserve_mode", "KSERVE_DEPLOYMENT_MODE", "ModelMesh",
            "KServe deployment mode of the resources: ModelMesh, Serverless or RawDeployment.",
            parse_kserve_mode),
    Setting("namespace", "KSERVE_NAMESPACE", "",
            "Namespace of the InferenceService resources (default: the controller pod's own "
            "namespace, else the kubeconfig context's, else `default`)."),
    Setting("kubeconfig", "KUBECONFIG", "",
            "kubeconfig file for the Kubernetes API (default: the pod's ServiceAccount when "
            "in a cluster, else ~/.kube/config)."),
    Setting("dry_run", "CONTROLLER_DRY_RUN", "false",
            "Write the KServe manifests to --out and exit instead of applying them (reads the "
            "registry, writes nothing to it; needs --target kserve).", boolean),
    Setting("out", "CONTROLLER_OUT_DIR", "kserve-manifests",
            "Directory --dry-run writes one InferenceService YAML file per service into."),
)  # fmt: skip
SWITCHES = frozenset({"dry_run"})


@dataclass(frozen=True)
class ControllerSettings(ArtifactSources):
    """Resolved controller settings."""

    registry_url: str = contract.REGISTRY_URL.default
    registry_prefix: str = API
    registry_token: str = ""
    serving_url: str = contract.SERVING_URL.default
    public_url: str = ""
    serving_token: str = ""
    environment: str = contract.SERVING_ENVIRONMENT.default
    runtime: tuple[str, ...] = (contract.SERVING_RUNTIME.default,)
    interval: float = 1.0
    backoff_initial: float = 1.0
    backoff_max: float = 30.0
    request_timeout: float = 5.0
    load_timeout: float = 120.0
    log_level: str = "info"
    target: str = "local"
    kserve_mode: str = "ModelMesh"
    namespace: str = ""
    kubeconfig: str = ""
    dry_run: bool = False
    out: str = "kserve-manifests"

    @classmethod
    def from_args(
        cls, argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> ControllerSettings:
        """Build from CLI flags, then env vars, then defaults."""
        description = (
            "Reconcile Model Registry InferenceServices onto the inference server "
            "(--target local) or into KServe InferenceService resources (--target kserve)."
        )
        table = (*CONTROLLER_SETTINGS, *TARGET_SETTINGS)
        values = [s for s in table if s.name not in SWITCHES]
        parser = settings_parser("python -m serving.controller", description, values)
        for setting in TARGET_SETTINGS:
            if setting.name in SWITCHES:
                parser.add_argument(
                    setting.flag, dest=setting.name, action="store_const", const="true",
                    help=f"{setting.help} [env {setting.env}; default {setting.default!r}]",
                )  # fmt: skip
        settings = cls(**load_settings(parser, table, argv, environ))
        if settings.dry_run and settings.target != "kserve":
            parser.error("--dry-run writes KServe manifests: add --target kserve")
        return settings

    @property
    def owner(self) -> str:
        """The owner label put on every model this controller loads."""
        return f"model-controller/{self.environment}"

    def model_url(self, name: str) -> str:
        """The `url` recorded on an InferenceService: its model's base URL on the server."""
        base = (self.public_url or self.serving_url).rstrip("/")
        return base + model_path(name)
