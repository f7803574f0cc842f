"""Settings tables: each setting once, with its env var, default and help.

A CLI flag beats an env var beats the default. Parsed in `main()`, never at import.
Shared by the inference server (`python -m serving`) and the controller
(`python -m serving.controller`); each builds its own frozen settings object.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Setting:
    """One documented setting: `--flag-name`, env var `env`, typed default."""

    name: str
    env: str
    default: str
    help: str
    parse: Callable[[str], Any] = str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def parse_bool(text: str) -> bool:
    """Parse a boolean setting ("1/true/yes/on" or "0/false/no/off")."""
    value = text.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {text!r}")


def parse_list(text: str) -> tuple[str, ...]:
    """Parse a comma-separated list setting (empty items dropped)."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def build_parser(prog: str, description: str, table: Sequence[Setting]) -> argparse.ArgumentParser:
    """An argparse parser with one flag per setting; defaults are resolved later."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    for setting in table:
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            default=None,
            help=f"{setting.help} [env {setting.env}, default {setting.default!r}]",
        )
    return parser


def resolve(
    table: Sequence[Setting],
    flags: Mapping[str, str | None],
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Typed values: flag > environment > default. Raises ValueError naming a bad setting."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in table:
        flag_value = flags.get(setting.name)
        raw = flag_value if flag_value is not None else env.get(setting.env, setting.default)
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ValueError(f"{setting.flag} / {setting.env}: {exc}") from exc
    return values


def load_settings(
    prog: str,
    description: str,
    table: Sequence[Setting],
    argv: Sequence[str] | None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Parse argv against `table` and resolve every setting (exits with usage on errors)."""
    parser = build_parser(prog, description, table)
    flags = vars(parser.parse_args(argv))
    try:
        return resolve(table, flags, environ)
    except ValueError as exc:
        parser.error(str(exc))
    raise AssertionError("unreachable")  # parser.error exits


# Where artifacts may come from: the same allow-lists for the server and the controller.
ARTIFACT_SOURCE_SETTINGS: tuple[Setting, ...] = (
    Setting("bucket", "AWS_S3_BUCKET", "models", "S3 bucket artifacts may come from."),
    Setting("extra_buckets", "SERVING_ALLOWED_BUCKETS", "",
            "Further allowed S3 buckets, comma-separated.", parse_list),
    Setting("oci_registry", "OCI_REGISTRY", "localhost:5000",
            "The OCI registry (host:port, or host:port/namespace to allow only that path) "
            "modelcars (oci:// URIs) may come from."),
    Setting("extra_oci_registries", "SERVING_ALLOWED_OCI_REGISTRIES", "",
            "Further allowed OCI registries (host:port), comma-separated.", parse_list),
)  # fmt: skip


def allow_list(first: str, extra: Sequence[str]) -> frozenset[str]:
    """An allow-list setting and its extra entries, empty entries dropped."""
    return frozenset({first, *extra} - {""})
