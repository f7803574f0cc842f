"""`python -m serving.controller`: run the reconcile loop until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Sequence

from serving.controller.config import ControllerSettings
from serving.controller.reconcile import Reconciler
from serving.controller.registry import RegistryClient
from serving.controller.server import ServingClient


def build_reconciler(settings: ControllerSettings) -> Reconciler:
    registry = RegistryClient(
        settings.registry_url,
        settings.registry_prefix,
        settings.registry_token,
        settings.request_timeout,
    )
    server = ServingClient(
        settings.serving_url,
        settings.serving_token,
        settings.request_timeout,
        settings.load_timeout,
    )
    return Reconciler(settings, registry, server)


def main(argv: Sequence[str] | None = None) -> None:
    settings = ControllerSettings.from_args(argv)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    reconciler = build_reconciler(settings)
    logging.getLogger("serving.controller").info(
        "reconciling environment %r (runtimes %s) from %s onto %s every %.1f s",
        settings.environment, ",".join(settings.runtime), settings.registry_url,
        settings.serving_url, settings.interval,
    )  # fmt: skip
    try:
        reconciler.run(stop)
    finally:
        reconciler.registry.close()
        reconciler.server.close()


if __name__ == "__main__":
    main()
