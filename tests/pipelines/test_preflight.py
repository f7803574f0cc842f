"""The pipeline's preflight: a Model Registry REST API must answer before anything trains."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.preflight import PreflightError, check_registry
from stack.proc import free_port

pytestmark = pytest.mark.server


def test_check_registry_accepts_a_registry(registry_server: Any) -> None:
    assert check_registry(registry_server.url) is None


def test_check_registry_refuses_what_is_not_a_registry_api(registry_server: Any) -> None:
    wrong = f"{registry_server.url}/not-the-registry"
    with pytest.raises(PreflightError, match=f"{wrong} answered HTTP 404 .*not a Model Registry"):
        check_registry(wrong)


def test_check_registry_says_how_to_start_one() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(PreflightError, match=r"Cannot reach the model registry .*\(ConnectError\)"):
        check_registry(url, timeout=2)
