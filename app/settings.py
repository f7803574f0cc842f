"""The app's settings: one table, each with its env var, default and help.

A CLI flag (after `--` on the `streamlit run` line) beats an env var beats the default.
Resolved in `streamlit_app.main()` on every run, never at import.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Setting:
    """One documented setting: flag `--name-with-dashes`, env var `env`, `default`, `help`."""

    name: str
    env: str
    default: str
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("registry_url", "MODEL_REGISTRY_URL", "http://localhost:8080",
            "Model registry REST URL; the app finds the deployed models there."),
    Setting("environment", "SERVING_ENVIRONMENT", "local",
            "ServingEnvironment whose DEPLOYED InferenceServices the app uses and deploys to."),
    Setting("runtime", "SERVING_RUNTIME", "mmserver1",
            "Runtime written on InferenceServices deployed from the app (the seed's)."),
    Setting("timeout", "APP_REQUEST_TIMEOUT", "10",
            "Seconds to wait for the registry or the inference server before giving up."),
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
        """Resolve every setting: CLI flag > environment variable > default."""
        flags = vars(settings_parser().parse_known_args(list(argv))[0])
        env = os.environ if environ is None else environ
        raw = {s.name: flags[s.name] or env.get(s.env) or s.default for s in SETTINGS}
        return cls(
            registry_url=_url(raw["registry_url"], "MODEL_REGISTRY_URL"),
            environment=raw["environment"],
            runtime=raw["runtime"],
            timeout=_seconds(raw["timeout"], "APP_REQUEST_TIMEOUT"),
        )


def settings_parser() -> argparse.ArgumentParser:
    """One flag per setting; its help names the env var and the default."""
    parser = argparse.ArgumentParser(
        prog="streamlit run app/streamlit_app.py --",
        description="The MNIST drawing app and model registry browser.",
    )
    for setting in SETTINGS:
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            default=None,
            help=f"{setting.help} [env {setting.env}, default {setting.default!r}]",
        )
    return parser


def _url(value: str, env: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise SettingsError(f"{env} must be an http(s) URL, got {value!r}")
    return value.rstrip("/")


def _seconds(value: str, env: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise SettingsError(f"{env} must be a number of seconds, got {value!r}") from None
    if seconds <= 0:
        raise SettingsError(f"{env} must be a positive number of seconds, got {value!r}")
    return seconds
