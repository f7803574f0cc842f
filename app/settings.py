"""The app's settings: one table, each with its env var, default and help.

The shape every part shares (`contracts.settings`): a CLI flag (after `--` on the
`streamlit run` line) beats an env var beats the default. Resolved in `streamlit_app.main()`
on every run, never at import. Where the registry is by default is the parts' contract.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from contracts import settings as shared
from contracts.defaults import REGISTRY_URL, SERVING_ENVIRONMENT, SERVING_RUNTIME
from contracts.settings import Setting, http_url, positive_seconds, resolve

SETTINGS: tuple[Setting, ...] = (
    REGISTRY_URL.setting("registry_url",
            "Model registry REST URL; the app finds the deployed models there.", http_url),
    SERVING_ENVIRONMENT.setting("environment",
            "ServingEnvironment whose DEPLOYED InferenceServices the app uses and deploys to."),
    SERVING_RUNTIME.setting("runtime",
            "Runtime written on InferenceServices deployed from the app (the seed's)."),
    Setting("timeout", "APP_REQUEST_TIMEOUT", "10",
            "Seconds to wait for the registry or the inference server before giving up.",
            positive_seconds),
)  # fmt: skip


class SettingsError(ValueError):
    """A setting has a value the app cannot use; the message names the setting."""


@dataclass(frozen=True)
class AppSettings:
    registry_url: str
    environment: str
    runtime: str
    timeout: float

    @classmethod
    def load(
        cls, argv: Sequence[str] = (), environ: Mapping[str, str] | None = None
    ) -> AppSettings:
        """Resolve every setting: CLI flag > environment variable > default.

        Flags the app does not know (Streamlit's own) are left alone."""
        flags = vars(settings_parser().parse_known_args(list(argv))[0])
        try:
            return cls(**resolve(SETTINGS, flags, environ))
        except ValueError as exc:
            raise SettingsError(str(exc)) from None


def settings_parser() -> argparse.ArgumentParser:
    """One flag per setting; its help names the env var and the default."""
    description = "The MNIST drawing app and model registry browser."
    return shared.settings_parser("streamlit run app/streamlit_app.py --", description, SETTINGS)
