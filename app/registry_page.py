"""The Registry page: models → versions → artifacts, and the InferenceServices, with deploy buttons.

The seed had "no GUI web application to display the metadata"; this is one. Deploy and
undeploy only write the desired state to the registry (the seed's POST / PATCH); the model
controller does the rest, and the InferenceServices section refreshes itself to show it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st

from app.compare_section import compare_section
from app.deployments import (
    DEPLOYED,
    UNDEPLOYED,
    Deployment,
    deploy_version,
    list_deployments,
    services_deploying,
    set_desired_state,
)
from app.errors import AppError, ServingEnvironmentMissing
from app.lifecycle import (
    archive_version,
    deleted_at,
    is_archived,
    restore_version,
    servable,
    visible_versions,
)
from app.model_card import card_markdown
from app.properties import ReadableProperty, grouped_properties
from app.registry_client import RegistryClient
from app.registry_view import (
    STATUS_COLOURS,
    artifact_facts,
    format_time,
    model_rows,
    properties_markdown,
    version_rows,
)
from app.settings import AppSettings
from app.ui import read_registry, recent_deployments, registry_client
from mr_client import ModelArtifact, ModelVersion, RegisteredModel

log = logging.getLogger("app")
REFRESH_SECONDS = 1.5
NOTICE = "registry_notice"
ACTED_ON = "registry_acted_on"
"""The version whose button was pressed last: its InferenceServices are shown beside it."""


def registry_page(settings: AppSettings) -> None:
    st.title("Model registry")
    st.caption(
        f"What the model registry at {settings.registry_url} holds, read through its "
        "Kubeflow Model Registry REST API. Deploying only records the desired state; the "
        "model controller notices it and loads or unloads the model in the inference server."
    )
    inference_services_section(settings)
    registered_models_section(settings)


@st.fragment(run_every=REFRESH_SECONDS)
def inference_services_section(settings: AppSettings) -> None:
    """The serving environment's InferenceServices, refreshed every REFRESH_SECONDS."""
    st.subheader(f"InferenceServices in serving environment “{settings.environment}”")
    show_notice()
    deployments = read_registry(
        settings, lambda registry: list_deployments(registry, settings.environment)
    )
    if deployments is None:
        return
    if not deployments:
        st.info("No InferenceService yet: deploy a version from the list of models below.")
    for deployment in deployments:
        inference_service_row(deployment, settings)


def inference_service_row(deployment: Deployment, settings: AppSettings) -> None:
    """Name and version, desired vs observed state, endpoint, and the deploy/undeploy button."""
    with st.container(border=True, key=f"service-{deployment.service_id}"):
        name, states, endpoint, action = st.columns([3, 3, 5, 2], vertical_alignment="center")
        name.markdown(f"**{deployment.service_name}** · {deployment.model_name} "
                      f"{deployment.version_name}  \nid {deployment.service_id}, "
                      f"runtime {deployment.runtime or '—'}")  # fmt: skip
        with states:
            st.badge(deployment.status, color=STATUS_COLOURS.get(deployment.status, "gray"))  # type: ignore[arg-type]
            st.caption(f"desired {deployment.desired_state} · observed "
                       f"{deployment.observed_state or 'nothing yet'}")  # fmt: skip
        endpoint.caption("endpoint")
        endpoint.markdown(f"`{deployment.endpoint}`" if deployment.endpoint else "none yet")
        flip = UNDEPLOYED if deployment.desired_state == DEPLOYED else DEPLOYED
        if action.button("Undeploy" if flip == UNDEPLOYED else "Deploy",
                         key=f"flip-{deployment.service_id}"):  # fmt: skip
            run_action(settings, lambda registry: set_desired_state(registry, deployment, flip))
            st.rerun()  # the whole page, not just this fragment: the versions' buttons follow


def registered_models_section(settings: AppSettings) -> None:
    st.subheader("Registered models")
    read_registry(settings, lambda registry: show_models(registry, settings))


def show_models(registry: RegistryClient, settings: AppSettings) -> None:
    models = registry.registered_models()
    if not models:
        st.info("No registered model yet: run `make demo`, or the notebooks with `make lab`.")
        return
    st.dataframe(model_rows(models), hide_index=True)
    by_id = {m.id: m for m in models}
    chosen = st.selectbox(
        "Model", list(by_id), format_func=lambda i: f"{by_id[i].name} (id {i})", key="model"
    )
    model = by_id[chosen or next(iter(by_id))]
    show_model(registry, settings, model)


def show_model(registry: RegistryClient, settings: AppSettings, model: RegisteredModel) -> None:
    """One model's versions (LIVE; ARCHIVED too on demand), their comparison and its card."""
    versions = registry.model_versions(model.id)
    deployments = deployments_or_none(registry, settings.environment)
    show_archived = st.toggle("Show archived versions", key=f"show-archived-{model.id}")
    shown = visible_versions(versions, show_archived)
    hidden = len(versions) - len(shown)
    if hidden:
        st.caption(f"{hidden} archived version{'s' if hidden > 1 else ''} hidden.")
    artifacts = {v.id: registry.artifacts(v.id) for v in shown}
    versions_tab, compare_tab, card_tab = st.tabs(["Versions", "Compare", "Model card"])
    with versions_tab:
        show_versions(settings, model, shown, artifacts, deployments)
    with compare_tab:
        compare_section(model.id, shown, artifacts, deployments)
    with card_tab:
        st.markdown(card_markdown(model.readme))


def show_versions(
    settings: AppSettings,
    model: RegisteredModel,
    versions: list[ModelVersion],
    artifacts: dict[str, list[ModelArtifact]],
    deployments: list[Deployment],
) -> None:
    st.markdown(f"**Versions of {model.name}**")
    deleted = {version_id: deleted_at(found) for version_id, found in artifacts.items()}
    st.dataframe(version_rows(versions, deployments, deleted), hide_index=True)
    for newest_first, version in enumerate(reversed(versions)):
        title = f"{model.name} {version.name} (version id {version.id})"
        with st.expander(title, expanded=newest_first == 0):
            show_version(settings, version, model.name, artifacts, deployments)


def deployments_or_none(registry: RegistryClient, environment: str) -> list[Deployment]:
    """The InferenceServices, or none when the serving environment does not exist yet."""
    try:
        return list_deployments(registry, environment)
    except ServingEnvironmentMissing:
        return []


def show_version(
    settings: AppSettings,
    version: ModelVersion,
    model_name: str,
    artifacts: dict[str, list[ModelArtifact]],
    deployments: list[Deployment],
) -> None:
    """A version's facts, properties and artifacts, with its Deploy and Archive/Restore
    buttons; after one is pressed, the version's InferenceServices and the outcome beside it."""
    version_id = version.id
    deleted = deleted_at(artifacts.get(version_id, []))
    facts_column, button_column = st.columns([4, 1], vertical_alignment="center")
    with facts_column:
        st.caption(" · ".join(version_facts(version)))
        if is_archived(version):
            st.badge("archived", color="gray")
        if deleted:
            st.badge("artifacts deleted", color="gray")
        if st.session_state.get(ACTED_ON) == version_id:
            version_services(settings, version_id)  # in the buttons' row: in view after a click
    with button_column:
        deploy_button(settings, version, model_name, deployments, deleted)
        archive_button(settings, version, model_name, deployments)
    if version.description:
        st.markdown(version.description)
    show_properties(version.custom_properties)
    for artifact in artifacts.get(version_id, []):
        show_artifact(artifact)


def version_facts(version: ModelVersion) -> list[str]:
    facts = [f"state {version.state}", f"created {format_time(version.created)}"]
    if version.author:
        facts.append(f"author {version.author}")
    return facts


def deploy_button(
    settings: AppSettings,
    version: ModelVersion,
    model_name: str,
    deployments: list[Deployment],
    deleted: str | None,
) -> None:
    """Deploy vN: disabled (its tooltip says why) while already DEPLOYED, when archived and
    when its artifacts were deleted; the action checks the last two again."""
    deploying = services_deploying(deployments, version.id)
    why_not = (f"Already desired DEPLOYED as {', '.join(deploying)}." if deploying else
               "Archived: restore it to deploy it." if is_archived(version) else
               f"Its artifacts were deleted at {deleted}." if deleted else None)  # fmt: skip
    st.button(
        f"Deploy {version.name}",
        key=f"deploy-{version.id}",
        icon=":material/rocket_launch:",
        disabled=why_not is not None,
        help=why_not,
        on_click=run_action,
        args=(settings, lambda r: deploy_version(r, settings.environment, settings.runtime,
                                                 servable(r, version, model_name), model_name),
              version.id),
    )  # fmt: skip


def archive_button(
    settings: AppSettings, version: ModelVersion, model_name: str, deployments: list[Deployment]
) -> None:
    """Archive vN (disabled while an InferenceService wants it DEPLOYED), or Restore vN."""
    if is_archived(version):
        st.button(f"Restore {version.name}", key=f"restore-{version.id}",
                  icon=":material/unarchive:", on_click=run_action,
                  args=(settings, lambda r: restore_version(r, version, model_name),
                        version.id))  # fmt: skip
        return
    deploying = services_deploying(deployments, version.id)
    st.button(
        f"Archive {version.name}",
        key=f"archive-{version.id}",
        icon=":material/archive:",
        disabled=bool(deploying),
        help=f"Deployed as {', '.join(deploying)}: undeploy it first." if deploying else None,
        on_click=run_action,
        args=(settings, lambda r: archive_version(r, version, model_name, deployments),
              version.id),
    )  # fmt: skip


@st.fragment(run_every=REFRESH_SECONDS)
def version_services(settings: AppSettings, version_id: str) -> None:
    """The outcome of the button just pressed, and the version's InferenceServices, refreshed
    here so they are in view where the button was pressed (the section above scrolls away)."""
    deployments = read_registry(
        settings, lambda registry: deployments_or_none(registry, settings.environment)
    )
    for deployment in deployments or []:
        if deployment.version_id == version_id:
            colour = STATUS_COLOURS.get(deployment.status, "gray")
            st.badge(f"{deployment.service_name}: {deployment.status}", color=colour)  # type: ignore[arg-type]
    show_notice()


def show_artifact(artifact: ModelArtifact) -> None:
    kind = artifact.artifact_type
    st.markdown(f"**{kind} {artifact.name}** (artifact id {artifact.id})")
    st.markdown("\n".join(f"- {label}: `{value}`" for label, value in artifact_facts(artifact)))
    show_properties(artifact.custom_properties)


def show_properties(custom: object) -> None:
    """customProperties by group: short ones in a table, JSON and multi-line text laid out."""
    groups = grouped_properties(custom if isinstance(custom, dict) else None)
    for group, properties in groups.items():
        st.markdown(f"*{group}*")
        short = [p for p in properties if p.layout in ("number", "code", "plain")]
        if short:
            st.markdown(properties_markdown(short))
        for prop in properties:
            show_long_property(prop)


def show_long_property(prop: ReadableProperty) -> None:
    if prop.layout == "json":
        st.caption(prop.name)
        st.json(prop.value, expanded=1)
    elif prop.layout == "text":
        st.caption(prop.name)
        st.code(str(prop.value), language="text")


def run_action(
    settings: AppSettings, action: Callable[[RegistryClient], str], version_id: str | None = None
) -> None:
    """A button's registry write; its outcome is shown as the notice above the services (and
    beside the version whose button it was). The draw page then reads the deployed models
    afresh instead of reusing its last read."""
    st.session_state[ACTED_ON] = version_id
    try:
        st.session_state[NOTICE] = ("success", action(registry_client(settings)))
    except AppError as error:
        st.session_state[NOTICE] = ("error", str(error))
    except Exception as error:  # noqa: BLE001 - a callback must never show a traceback
        log.exception("registry action failed")
        st.session_state[NOTICE] = ("error", f"The action failed unexpectedly ({error}).")
    kind, message = st.session_state[NOTICE]
    st.toast(message, icon=":material/check_circle:" if kind == "success" else ":material/error:")
    recent_deployments(settings).forget()


def show_notice() -> None:
    kind, message = st.session_state.get(NOTICE, (None, None))
    if kind == "success":
        st.success(message, icon=":material/check_circle:")
    elif kind == "error":
        st.error(message, icon=":material/error:")
