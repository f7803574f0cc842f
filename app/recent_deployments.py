"""The deployed models, as a browser session last read them from the registry.

This module owns that read and its reuse. While a digit is drawn the draw page reruns up to
ten times a second; reading the InferenceServices costs 3-4 ms on a quiet machine and 5-50 ms
on a busy one, before any model is asked. So a session reuses its read for MAX_AGE seconds (a
deploy or an undeploy made elsewhere shows on an open draw page at most that much later). A
page load, a new session, reads afresh, and `forget` makes the next run read again: after an
answer failed, and after the session's Registry page wrote a desired state.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from functools import partial

import streamlit as st

from app.deployments import Deployment, deployed
from app.registry_client import RegistryClient
from app.settings import AppSettings

MAX_AGE = 2.0
"""Seconds a read of the deployed models is reused."""


class RecentDeployments:
    """The last list of deployed models read, and when."""

    def __init__(self, max_age: float = MAX_AGE) -> None:
        self._max_age = max_age
        self._lock = threading.Lock()
        self._deployments: list[Deployment] | None = None
        self._read_at = 0.0

    def get(self, read: Callable[[], list[Deployment]]) -> list[Deployment]:
        """The deployments read less than `max_age` ago, else `read()`'s (errors not kept)."""
        with self._lock:
            if self._deployments is not None and time.monotonic() - self._read_at < self._max_age:
                return self._deployments
        deployments = read()
        with self._lock:
            self._deployments, self._read_at = deployments, time.monotonic()
        return deployments

    def forget(self) -> None:
        """Read again next time."""
        with self._lock:
            self._deployments = None


def recent_deployments(settings: AppSettings) -> RecentDeployments:
    """This session's last read of the deployed models of this registry and environment."""
    key = f"recent-deployments {settings.registry_url} {settings.environment}"
    recent: RecentDeployments = st.session_state.setdefault(key, RecentDeployments())
    return recent


def deployed_models(registry: RegistryClient, settings: AppSettings) -> list[Deployment]:
    """The models DEPLOYED in the settings' environment, as this session read them less than
    MAX_AGE seconds ago, else as `registry` says now (an AppError when it cannot say)."""
    read = partial(deployed, registry, settings.environment)
    return recent_deployments(settings).get(read)
