"""The local target: load and unload models on `python -m serving` (stands in for ModelMesh).

The snapshot is the server's repository index (model name → row). A model is ours when its
`owner` is this controller's; only ours are ever unloaded. Loads are synchronous: the server
answers when the model serves (Ready) or why it refused (Failed). A service whose name the
server cannot hold (`serving.names`) fails before any request, so no name addresses another
model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from serving.controller.config import ControllerSettings
from serving.controller.registry import InferenceService
from serving.controller.resolve import ResolvedModel
from serving.controller.server import LoadedModel, LoadFailed, ServingClient
from serving.controller.target import Failed, Outcome, Ready
from serving.names import BadModelName, check_model_name

log = logging.getLogger("serving.controller")

Index = dict[str, LoadedModel]


class LocalServerTarget:
    """Serves each InferenceService as the model `<service name>` on the inference server."""

    component = "inference server"

    def __init__(self, settings: ControllerSettings, server: ServingClient) -> None:
        self.settings = settings
        self.server = server

    def observe(self) -> Index:
        return self.server.index()

    def deploy(self, service: InferenceService, model: ResolvedModel, seen: Index) -> Outcome:
        try:
            check_model_name(service.name)
        except BadModelName as exc:  # never a request: the name could address another model
            return Failed(f"the inference server cannot serve this name: {exc}", retry_later=False)
        if not self.serving(seen.get(service.name), model):
            parameters = model.load_parameters(self.settings.owner)
            try:
                self.server.load(service.name, parameters)
            except LoadFailed as exc:
                return Failed(str(exc))
        return Ready(self.settings.model_url(service.name))

    def serving(self, loaded: LoadedModel | None, model: ResolvedModel) -> bool:
        return (
            self.owned(loaded)
            and loaded is not None
            and loaded.ready
            and loaded.version == model.version_id
        )

    def undeploy(self, service: InferenceService, seen: Index) -> None:
        loaded = seen.get(service.name)
        if self.owned(loaded) and loaded is not None and loaded.state != "UNAVAILABLE":
            self.server.unload(service.name)

    def remove_orphans(self, services: Sequence[InferenceService], seen: Index) -> list[str]:
        """Unload models this controller loaded for services that no longer exist here."""
        wanted = {service.name for service in services}
        removed = []
        for name, model in seen.items():
            if name not in wanted and self.owned(model) and model.state != "UNAVAILABLE":
                self.server.unload(name)
                removed.append(name)
        return removed

    def owned(self, loaded: LoadedModel | None) -> bool:
        return loaded is not None and loaded.owner == self.settings.owner

    def close(self) -> None:
        self.server.close()
