"""The Settings page: every setting with its env var and value, and whether the parts answer."""

from __future__ import annotations

import streamlit as st

from app.deployments import DEPLOYED, Deployment, list_deployments
from app.errors import AppError
from app.settings import SETTINGS, AppSettings
from app.ui import inference_client, registry_client, show_error


def settings_page(settings: AppSettings) -> None:
    st.title("Settings")
    st.caption(
        "Set these as environment variables before starting the app, or as flags after `--`: "
        "`streamlit run app/streamlit_app.py -- --registry-url http://host:8080`."
    )
    st.markdown(settings_markdown(settings))
    st.subheader("Connections")
    registry = registry_client(settings)
    try:
        healthy = registry.healthy()
        st.markdown(f"- model registry {settings.registry_url}: "
                    f"{'answering' if healthy else 'not ready'}")  # fmt: skip
        deployments = list_deployments(registry, settings.environment)
    except AppError as error:
        show_error(error)
        return
    for deployment in deployments:
        st.markdown(f"- {deployment.label}: {endpoint_state(deployment, settings)}")


def settings_markdown(settings: AppSettings) -> str:
    """A table of every setting: env var, flag, the value in use, the default and its help."""
    lines = ["| env var | flag | value | default | what |", "| --- | --- | --- | --- | --- |"]
    for setting in SETTINGS:
        value = getattr(settings, setting.name)
        lines.append(f"| `{setting.env}` | `{setting.flag}` | `{value}` | `{setting.default}` "
                     f"| {setting.help} |")  # fmt: skip
    return "\n".join(lines)


def endpoint_state(deployment: Deployment, settings: AppSettings) -> str:
    """What the endpoint answers, read against the desired state: a service desired
    UNDEPLOYED that is not loaded is as it should be, not a fault."""
    if deployment.endpoint is None:
        return f"desired {deployment.desired_state}, no endpoint"
    ready = inference_client(settings).model_ready(deployment)
    return f"desired {deployment.desired_state}, endpoint {deployment.endpoint}: " + (
        readiness(deployment.desired_state == DEPLOYED, ready)
    )


def readiness(wanted: bool, ready: bool | None) -> str:
    """`ready` (True, False, None = no answer) in words, coloured by whether it is expected."""
    if ready is None:
        return ":red[not answering]" if wanted else ":gray[not answering (nothing to serve)]"
    if wanted:
        return ":green[ready]" if ready else ":orange[not ready yet (loading, or failed)]"
    return ":orange[still loaded (unloading)]" if ready else ":gray[not loaded, as desired]"
