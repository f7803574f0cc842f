"""`python -m serving.controller`: run the reconcile loop until SIGTERM/SIGINT.

`--target local` (default) loads models into the inference server; `--target kserve`
manages KServe InferenceService resources; `--target kserve --dry-run --out DIR` writes
those resources to DIR once and exits (status 1 when a service could not be resolved).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from serving.controller.config import ControllerSettings
from serving.controller.kserve.resources import Placement, pod_namespace
from serving.controller.reconcile import Reconciler
from serving.controller.registry import RegistryClient, RegistryError
from serving.controller.server import ServingClient
from serving.controller.target import ServingTarget

log = logging.getLogger("serving.controller")


def registry_client(settings: ControllerSettings) -> RegistryClient:
    return RegistryClient(
        settings.registry_url,
        settings.registry_prefix,
        settings.registry_token,
        settings.request_timeout,
    )


def placement(settings: ControllerSettings) -> Placement:
    """Namespace: --namespace, else the pod's, else the kubeconfig context's, else `default`."""
    namespace = settings.namespace or pod_namespace()
    if not namespace:
        from serving.controller.kserve.api import kubeconfig_namespace

        namespace = kubeconfig_namespace(settings.kubeconfig) or "default"
    return Placement(namespace, settings.kserve_mode, settings.environment)


def build_target(settings: ControllerSettings) -> ServingTarget[Any]:
    """The serving target `--target` names."""
    if settings.target == "kserve":
        from serving.controller.kserve.api import InferenceServiceApi, api_client
        from serving.controller.kserve_target import KServeTarget

        where = placement(settings)
        api = InferenceServiceApi(
            api_client(settings.kubeconfig), where.namespace, settings.request_timeout
        )
        return KServeTarget(api, where)
    from serving.controller.local_target import LocalServerTarget

    server = ServingClient(
        settings.serving_url,
        settings.serving_token,
        settings.request_timeout,
        settings.load_timeout,
    )
    return LocalServerTarget(settings, server)


def build_reconciler(settings: ControllerSettings) -> Reconciler[Any]:
    return Reconciler(settings, registry_client(settings), build_target(settings))


def describe(settings: ControllerSettings) -> str:
    if settings.target == "kserve":
        where = placement(settings)
        return f"KServe InferenceServices ({where.mode}) in namespace {where.namespace}"
    return settings.serving_url


def dry_run(settings: ControllerSettings) -> int:
    """Write the manifests once; the exit status."""
    from serving.controller.dry_run import write_manifests

    registry = registry_client(settings)
    try:
        failures = write_manifests(settings, registry, placement(settings))
    except RegistryError as exc:
        log.error("%s", exc)
        return 2
    finally:
        registry.close()
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> None:
    settings = ControllerSettings.from_args(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if settings.dry_run:
        sys.exit(dry_run(settings))
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        reconciler = build_reconciler(settings)
    except Exception as exc:  # the KServe target without a cluster configuration
        sys.exit(f"python -m serving.controller: {exc}")
    log.info(
        "reconciling environment %r (runtimes %s) from %s onto %s every %.1f s",
        settings.environment, ",".join(settings.runtime), settings.registry_url,
        describe(settings), settings.interval,
    )  # fmt: skip
    try:
        reconciler.run(stop)
    finally:
        reconciler.registry.close()
        reconciler.target.close()


if __name__ == "__main__":
    main()
