"""The controller's view of the Model Registry: the shared typed client (`mr_client`).

Errors are mr_client's: RegistryUnavailable (unreachable, or 5xx), NotFound (404) and
Refused (other 4xx), all RegistryErrors. The controller adds only the names of registered
models, read once per reconcile pass.
"""

from __future__ import annotations

import mr_client
from mr_client import InferenceService, RegistryError, RegistryUnavailable
from mr_client import NotFound as RegistryNotFound

__all__ = ["InferenceService", "RegistryClient", "RegistryError", "RegistryNotFound",
           "RegistryUnavailable"]  # fmt: skip


class RegistryClient(mr_client.RegistryClient):
    """mr_client's client at the controller's API prefix, with a per-pass name cache."""

    def __init__(self, base_url: str, prefix: str, token: str, timeout: float) -> None:
        super().__init__(base_url, token=token, timeout=timeout, prefix=prefix)
        self.model_names: dict[str, str] = {}

    def find_environment_id(self, name: str) -> str | None:
        """Id of the ServingEnvironment `name` (None when there is none); creates nothing."""
        found = self.find_serving_environment(name)
        return found.id if found else None

    def environment_id(self, name: str) -> str:
        """Id of the ServingEnvironment `name`, created when missing."""
        return self.ensure_serving_environment(name).id

    def registered_model_name(self, registered_model_id: str) -> str:
        """The registered model's name, read once per pass (`forget_names` starts a pass)."""
        if registered_model_id not in self.model_names:
            self.model_names[registered_model_id] = self.registered_model(registered_model_id).name
        return self.model_names[registered_model_id]

    def forget_names(self) -> None:
        self.model_names.clear()
