"""What an OCI registry answers besides a 200: redirects and errors, trusted for nothing.

A redirect is followed (up to MAX_REDIRECTS) only to the registry's own host or to a host
the server is configured to allow (`SERVING_OCI_REDIRECT_HOSTS`), and over HTTPS unless that
host is loopback. An error answer becomes a reason built from its status and the distribution
spec's error codes it names; none of the registry's own text (messages, details, bodies,
headers) is ever copied into an error, a log line or a FAILED record.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import httpx
import orjson

from contracts.oci import is_loopback
from serving.errors import ArtifactUnavailable, LoadRefused

REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5
MAX_ERROR_BYTES = 64 * 1024
HOST = re.compile(r"^(?:\[[0-9a-f:.]+\]|[a-z0-9.-]{1,253})(?::[0-9]{1,5})?$")
ERROR_CODES = frozenset({  # the OCI distribution spec's error codes, the only words kept
    "BLOB_UNKNOWN", "BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN", "DIGEST_INVALID",
    "MANIFEST_BLOB_UNKNOWN", "MANIFEST_INVALID", "MANIFEST_UNKNOWN", "NAME_INVALID",
    "NAME_UNKNOWN", "SIZE_INVALID", "UNAUTHORIZED", "DENIED", "UNSUPPORTED", "TOOMANYREQUESTS",
})  # fmt: skip


def redirect_target(
    url: str, response: httpx.Response, registry_url: str, allowed_hosts: frozenset[str]
) -> str:
    """Where a redirect from `url` leads; LoadRefused unless that is the registry's own
    host (same scheme) or an allowed one (HTTPS, or HTTP on loopback)."""
    target = urljoin(url, response.headers.get("location", ""))
    parts, own = urlsplit(target), urlsplit(registry_url)
    host = parts.netloc.lower()
    same_host = host == own.netloc.lower() and parts.scheme == own.scheme
    allowed = host in allowed_hosts and (
        parts.scheme == "https" or (parts.scheme == "http" and is_loopback(host))
    )
    if not (same_host or allowed):
        shown = repr(host) if HOST.match(host) else "another host"
        raise LoadRefused(
            f"OCI registry {own.netloc} redirected a pull to {shown} over {parts.scheme or '?'}"
            ", which is not allowed (SERVING_OCI_REDIRECT_HOSTS lists the hosts allowed "
            "besides the registry's own)"
        )
    return target


def error_codes(body: bytes) -> str:
    """The spec error codes an error body names (`errors[].code`), nothing else of it."""
    try:
        errors = orjson.loads(body).get("errors")
        codes = [str(error.get("code")) for error in errors]
    except (orjson.JSONDecodeError, AttributeError, TypeError):
        return ""
    return ", ".join(sorted({code for code in codes if code in ERROR_CODES}))


def refused_by_registry(
    registry: str, uri: str, path: str, status: int, body: bytes
) -> LoadRefused | ArtifactUnavailable:
    """Map a registry's error answer: missing/denied refuse, 5xx is unavailability."""
    what = f"HTTP {status}" + (f" {codes}" if (codes := error_codes(body)) else "")
    if status >= 500:
        return ArtifactUnavailable(f"OCI registry failed on {uri} ({what})")
    if status in (401, 403):
        return LoadRefused(f"OCI registry {registry} refused an anonymous pull of {uri} ({what})")
    if status == 404:
        return LoadRefused(f"{path.split('/')[0][:-1]} of {uri} not found in the registry ({what})")
    return LoadRefused(f"OCI registry answered {status} for {uri} ({what})")
