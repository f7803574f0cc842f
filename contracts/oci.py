"""How every part reaches the OCI registry that `OCI_REGISTRY` names (or an image reference
holds): plain HTTP on loopback, HTTPS anywhere else. Docker and containerd treat loopback
registries as insecure by default and no other; the pusher (`training.modelcar`), the puller
(`serving.oci`) and the cleaner (`training.cleanup`) apply the same rule, or one of them
would knock on a port the others do not use.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback(address: str) -> bool:
    """True for `localhost` and loopback IPs, given as a host or `host:port` (IPv6 in
    brackets)."""
    host = urlsplit(f"//{address}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def registry_scheme(registry: str) -> str:
    """`http` for a registry (`host[:port]`) on loopback, `https` otherwise."""
    return "http" if is_loopback(registry) else "https"
