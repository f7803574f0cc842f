"""Register in a set order while several trainings run at once.

`PUBLISH_AFTER=<version>` makes a publish (notebook or pipeline) wait, before it chooses its
version name or writes anything, until that version of the same model is registered. The
demo's seed (`stack/bootstrap.py`) trains notebooks 01 and 02 and the pipeline concurrently
and still gets the seed's names and ids this way: registered models, versions and
InferenceServices share one id sequence in the registry, so the order of registration is
the order of ids.
"""

from __future__ import annotations

import os
import time
from typing import Any

PUBLISH_AFTER = "PUBLISH_AFTER"
WAIT_SECONDS = 900.0


class TurnTimeoutError(RuntimeError):
    """The version a publish waits for was not registered in time; nothing was written."""


def wait_for_turn(
    registry: Any, model_name: str, after: str | None = None, timeout: float = WAIT_SECONDS
) -> None:
    """Return once version `after` (default: $PUBLISH_AFTER; none: at once) of `model_name`
    is registered; TurnTimeoutError after `timeout` seconds."""
    after = os.environ.get(PUBLISH_AFTER, "") if after is None else after
    if not after:
        return
    deadline = time.monotonic() + timeout
    while not version_registered(registry, model_name, after):
        if time.monotonic() > deadline:
            raise TurnTimeoutError(
                f"{model_name} {after} was not registered within {timeout:.0f} s "
                f"({PUBLISH_AFTER}={after}), so this version was not registered either."
            )
        time.sleep(0.5)


def version_registered(registry: Any, model_name: str, version: str) -> bool:
    """True once the upstream client finds `version` of `model_name`."""
    if registry.get_registered_model(model_name) is None:
        return False
    return registry.get_model_version(model_name, version) is not None
