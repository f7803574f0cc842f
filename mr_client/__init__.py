"""A typed client for the Kubeflow Model Registry REST API, shared by every part that talks
to the registry (the app, the model controller, the stack, the pipeline, training's tools).

It is a protocol client and nothing more: it imports no part of this repository, and
`registry_local` does not import it. `urls` is the one module that builds registry URLs.
"""

from mr_client.client import RegistryClient
from mr_client.entities import (
    InferenceService,
    ModelArtifact,
    ModelVersion,
    RegisteredModel,
    ServeModel,
    ServingEnvironment,
)
from mr_client.errors import NotFound, Refused, RegistryError, RegistryUnavailable
from mr_client.properties import decode_properties, encode_property, property_text

__all__ = [
    "InferenceService",
    "ModelArtifact",
    "ModelVersion",
    "NotFound",
    "Refused",
    "RegisteredModel",
    "RegistryClient",
    "RegistryError",
    "RegistryUnavailable",
    "ServeModel",
    "ServingEnvironment",
    "decode_properties",
    "encode_property",
    "property_text",
]
