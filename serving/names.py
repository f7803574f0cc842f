"""The inference server's model-name rule, and model URLs built only from accepted names.

A protocol module (standard library only): the server refuses a name that breaks the rule,
and every client that turns a name into a URL (the controller, the app, scripts) builds the
path here, so a name the server cannot hold never reaches a request and an accepted name is
always one escaped path segment (`victim/unload?` can never address another model).
"""

from __future__ import annotations

import re
from urllib.parse import quote

MAX_NAME_LENGTH = 253
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")
RULE = (
    f"1-{MAX_NAME_LENGTH} ASCII letters, digits, '.', '_' or '-', starting with a letter or digit"
)
SHOWN_LENGTH = 64


class BadModelName(ValueError):
    """A name the inference server cannot hold; the message says which rule it breaks."""


def check_model_name(name: str) -> None:
    """Return when `name` is a model name the server holds; raise BadModelName otherwise."""
    if not isinstance(name, str):
        raise BadModelName(f"model name must be a string, not {type(name).__name__}")
    if len(name) > MAX_NAME_LENGTH:
        raise BadModelName(
            f"bad model name {shown(name)}: {len(name)} characters, at most {MAX_NAME_LENGTH}"
        )
    if not MODEL_NAME.fullmatch(name):
        raise BadModelName(f"bad model name {shown(name)}: use {RULE}")


def shown(name: str) -> str:
    """The name as an error message quotes it: repr (so a newline shows as `\\n`), cut short."""
    if len(name) <= SHOWN_LENGTH:
        return repr(name)
    return f"{name[:SHOWN_LENGTH]!r}…"


def segments(*parts: str) -> str:
    """`/a/b/...`, each part one escaped path segment (`/`, `?`, `#`, `%` included)."""
    return "".join(f"/{quote(part, safe='')}" for part in parts)


def model_path(name: str, *rest: str) -> str:
    """`/v2/models/<name>[/<rest>...]` for an accepted name (e.g. `model_path(n, "infer")`)."""
    check_model_name(name)
    return "/v2/models" + segments(name, *rest)


def repository_path(name: str, action: str) -> str:
    """`/v2/repository/models/<name>/<action>` (`load` / `unload`) for an accepted name."""
    check_model_name(name)
    return "/v2/repository/models" + segments(name, action)
