"""Where the parts find each other by default: DESIGN.md's "Contracts other parts rely on".

Each row is an environment variable and its default; a part's setting for it is made with
`Contract.setting`, so no part writes these values down again.
`tests/contracts/test_contracts.py` checks every part's tables against these rows and these
rows against `contracts/README.md`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from contracts.settings import Setting


@dataclass(frozen=True)
class Contract:
    """A default the parts agree on, under its environment variable."""

    env: str
    default: str
    what: str

    def setting(self, name: str, help: str, parse: Callable[[str], Any] = str) -> Setting:
        """This part's setting for the contract: the same variable, the same default."""
        return Setting(name, self.env, self.default, help, parse)


REGISTRY_URL = Contract("MODEL_REGISTRY_URL", "http://localhost:8080", "registry REST")
SERVING_URL = Contract("SERVING_URL", "http://localhost:8008", "inference server REST")
SERVING_GRPC_PORT = Contract("SERVING_GRPC_PORT", "8033", "inference server gRPC port (server)")
SERVING_GRPC_URL = Contract("SERVING_GRPC_URL", "localhost:8033", "inference server gRPC (clients)")
S3_ENDPOINT = Contract("AWS_S3_ENDPOINT", "http://localhost:9000", "S3 endpoint")
S3_BUCKET = Contract("AWS_S3_BUCKET", "models", "bucket")
S3_ACCESS_KEY = Contract("AWS_ACCESS_KEY_ID", "demo-access-key", "S3 access key (demo value)")
S3_SECRET_KEY = Contract("AWS_SECRET_ACCESS_KEY", "demo-secret-key", "S3 secret key (demo value)")
S3_REGION = Contract("AWS_DEFAULT_REGION", "us-east-1", "S3 region (demo value)")
OCI_REGISTRY = Contract("OCI_REGISTRY", "localhost:5000", "OCI registry for modelcars")
APP_PORT = Contract("APP_PORT", "8501", "Streamlit app port")
SERVING_ENVIRONMENT = Contract("SERVING_ENVIRONMENT", "local", "ServingEnvironment reconciled")
SERVING_RUNTIME = Contract("SERVING_RUNTIME", "mmserver1", "InferenceService runtime served")

CONTRACTS = (
    REGISTRY_URL,
    SERVING_URL,
    SERVING_GRPC_PORT,
    SERVING_GRPC_URL,
    S3_ENDPOINT,
    S3_BUCKET,
    S3_ACCESS_KEY,
    S3_SECRET_KEY,
    S3_REGION,
    OCI_REGISTRY,
    APP_PORT,
    SERVING_ENVIRONMENT,
    SERVING_RUNTIME,
)


def port_of(url: str) -> int:
    """The TCP port of an http(s) URL (80/443 when not given)."""
    parts = urlsplit(url)
    if parts.port is not None:
        return parts.port
    return 443 if parts.scheme == "https" else 80
