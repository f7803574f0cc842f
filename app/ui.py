"""What every page shares: the one error handler, and the registry client of a run."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import streamlit as st

from app.errors import AppError
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


@contextmanager
def registry_client(settings: AppSettings) -> Iterator[RegistryClient]:
    """A registry client for one run of a page, closed afterwards."""
    with RegistryClient(settings.registry_url, timeout=settings.timeout) as client:
        yield client


def read_registry(settings: AppSettings, read: Callable[[RegistryClient], T]) -> T | None:
    """Run `read` against the registry; on an AppError show its sentence and return None."""
    try:
        with registry_client(settings) as registry:
            return read(registry)
    except AppError as error:
        show_error(error)
        return None
