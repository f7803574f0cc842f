"""`contracts.oci`: the one rule for reaching an OCI registry, as pusher, puller and cleaner
apply it."""

from __future__ import annotations

import pytest

from contracts.oci import is_loopback, registry_scheme
from serving.oci import OciLocation
from training.modelcar import OciSettings

LOOPBACK = ["localhost", "localhost:5000", "127.0.0.1", "127.0.0.1:5000", "127.8.9.1:80",
            "[::1]", "[::1]:5000", "LOCALHOST:5000"]  # fmt: skip
ELSEWHERE = ["quay.io", "quay.io:443", "10.0.0.1:5000", "[2001:db8::1]:5000",
             "localhost.example.com", "127.0.0.1.nip.io", "", "host:notaport"]  # fmt: skip


@pytest.mark.parametrize("registry", LOOPBACK)
def test_loopback_registries_are_plain_http(registry: str) -> None:
    assert is_loopback(registry)
    assert registry_scheme(registry) == "http"


@pytest.mark.parametrize("registry", ELSEWHERE)
def test_every_other_registry_is_https(registry: str) -> None:
    assert not is_loopback(registry)
    assert registry_scheme(registry) == "https"


@pytest.mark.parametrize("registry", ["localhost:5000", "quay.io"])
def test_pusher_and_puller_agree(registry: str) -> None:
    location = OciLocation.parse(f"oci://{registry}/mnist:1", frozenset({registry}))
    pulled_over = location.base_url.split("://", 1)[0]
    assert OciSettings(registry).plain_http == (pulled_over == "http")
