"""The Streamlit entry: `streamlit run app/streamlit_app.py [-- --registry-url URL ...]`.

Three pages: draw a digit (the default), browse the model registry, settings. Settings are
resolved on every run in `main()` from flags after `--`, environment variables and defaults.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

import streamlit as st

from app.draw_page import draw_page
from app.registry_page import registry_page
from app.settings import AppSettings, SettingsError
from app.settings_page import settings_page
from app.ui import run_page

PAGES: tuple[tuple[Callable[[AppSettings], None], str, str, str], ...] = (
    (draw_page, "Draw a digit", "draw", ":material/draw:"),
    (registry_page, "Model registry", "registry", ":material/inventory_2:"),
    (settings_page, "Settings", "settings", ":material/settings:"),
)


def main() -> None:
    st.set_page_config(page_title="MNIST · model registry demo", page_icon="✏️", layout="wide")
    st.set_option("client.showErrorDetails", "none")  # errors are sentences, never tracebacks
    st.set_option("client.toolbarMode", "minimal")  # no Streamlit "Deploy" button next to ours
    st.html("<style>[data-testid='stAppDeployButton'] {display: none;}</style>")
    try:
        settings = AppSettings.load(sys.argv[1:])
    except SettingsError as error:
        st.error(f"{error}; fix it and restart the app.", icon=":material/error:")
        return
    st.navigation([_page(settings, *spec) for spec in PAGES]).run()


def _page(
    settings: AppSettings,
    render: Callable[[AppSettings], None],
    title: str,
    url_path: str,
    icon: str,
) -> st.Page:
    def run() -> None:
        run_page(render, settings)

    run.__name__ = f"{url_path}_page"
    return st.Page(run, title=title, url_path=url_path, icon=icon, default=url_path == "draw")


if __name__ == "__main__":
    main()
