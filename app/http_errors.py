"""The text of an HTTP error answer, as both parts word it."""

from __future__ import annotations

import httpx


def error_text(response: httpx.Response, key: str) -> str:
    """The `key` field of a JSON error body (`message` for the registry, `error` for the
    inference server), else the start of the body, else the reason phrase."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and key in body:
        return str(body[key])
    return str(body)[:200]
