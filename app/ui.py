"""What every page shares: the one error handler, and the app's registry and inference clients."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from app.errors import AppError
from app.inference_client import InferenceClient
from app.recent_deployments import recent_deployments as recent_deployments  # registry_page
from app.registry_client import RegistryClient
from app.settings import AppSettings

log = logging.getLogger("app")
T = TypeVar("T")


def show_error(error: AppError) -> None:
    """The one way errors reach the page: one sentence saying what to do."""
    st.error(str(error), icon=":material/error:")


def run_page(page: Callable[[AppSettings], None], settings: AppSettings) -> None:
    """Run a page; an AppError becomes its sentence, anything else a sentence too (no traceback)."""
    try:
        page(settings)
    except AppError as error:
        show_error(error)
    except Exception as error:  # noqa: BLE001 - the page must never show a traceback
        log.exception("unexpected error on a page")
        show_error(
            AppError(
                f"Something unexpected went wrong ({type(error).__name__}: {error}); "
                "the app's log has the details (`make logs`)."
            )
        )


def registry_client(settings: AppSettings) -> RegistryClient:
    """The app's registry client for these settings, shared by every run and session."""
    return _registry_client(settings.registry_url, settings.timeout)


def inference_client(settings: AppSettings) -> InferenceClient:
    """The app's inference client for these settings, shared by every run and session."""
    return _inference_client(settings.timeout)


@st.cache_resource(show_spinner=False)
def _registry_client(registry_url: str, timeout: float) -> RegistryClient:
    # One per process, never one per run: a new httpx client costs about 20 ms.
    return RegistryClient(registry_url, timeout=timeout)


@st.cache_resource(show_spinner=False)
def _inference_client(timeout: float) -> InferenceClient:
    return InferenceClient(timeout=timeout)


def read_registry(settings: AppSettings, read: Callable[[RegistryClient], T]) -> T | None:
    """Run `read` against the registry; on an AppError show its sentence and return None."""
    try:
        return read(registry_client(settings))
    except AppError as error:
        show_error(error)
        return None
