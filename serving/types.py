"""Protocol-neutral request/response types: what the data plane takes and returns.

The REST layer turns wire JSON (and binary tensor data) into these and back; a gRPC front
end would do the same. Tensors are numpy arrays here, never JSON lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

PLATFORM = "onnx_onnxv1"


@dataclass(frozen=True)
class TensorSpec:
    """A model input or output as the model declares it (-1 for a free dimension)."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class NamedTensor:
    """One named tensor: a request's input (decoded in the datatype the client declared) or
    a response's output."""

    name: str
    array: np.ndarray


@dataclass(frozen=True)
class InferenceRequest:
    """Inputs, the output names wanted (None: all) and the client's optional id."""

    inputs: list[NamedTensor]
    output_names: list[str] | None = None
    id: str | None = None


@dataclass(frozen=True)
class InferenceResponse:
    model_name: str
    model_version: str
    outputs: list[NamedTensor]
    id: str | None = None


@dataclass(frozen=True)
class ModelMetadata:
    """What `GET /v2/models/{name}` reports."""

    name: str
    versions: list[str]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    platform: str = PLATFORM
    properties: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "versions": self.versions,
            "platform": self.platform,
            "inputs": [spec.as_dict() for spec in self.inputs],
            "outputs": [spec.as_dict() for spec in self.outputs],
            "properties": self.properties,
        }
