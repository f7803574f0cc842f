"""Record what a model version depends on: the seed's three approaches, made concrete.

- Pinned dependencies: exact versions of python and the libraries that trained, exported and
  checked the model (`package_versions`, `requirements_text`).
- Self-contained format: the ONNX opset, IR version, producer and signature
  (`describe_onnx`).
- Integrity: sha256 and size of the artifact (`file_digest`).
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

PINNED_PACKAGES = ("tensorflow", "keras", "tf2onnx", "onnx", "numpy", "onnxruntime")
NOT_INSTALLED = "not-installed"
ONNX_TYPE_NAMES = {1: "FP32", 2: "UINT8", 3: "INT8", 6: "INT32", 7: "INT64", 10: "FP16", 11: "FP64"}


@dataclass(frozen=True)
class OnnxDescription:
    """What an ONNX file says about itself: enough to pick a runtime that can load it."""

    opset: int
    ir_version: int
    producer: str
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]

    def signature(self) -> dict[str, Any]:
        """{'inputs': [...], 'outputs': [...]}, each tensor as name, datatype and shape."""
        return {"inputs": self.inputs, "outputs": self.outputs}

    def signature_json(self) -> str:
        return json.dumps(self.signature(), separators=(",", ":"))


@dataclass(frozen=True)
class FileDigest:
    """sha256 (hex) and size in bytes of one file."""

    sha256: str
    size: int


def package_versions(packages: tuple[str, ...] = PINNED_PACKAGES) -> dict[str, str]:
    """{'python': '3.11.7', 'tensorflow': '2.21.0', ...}; missing packages say so."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = NOT_INSTALLED
    return versions


def requirements_text(versions: dict[str, str]) -> str:
    """A pip requirements file pinning every installed package in `versions`."""
    lines = [
        "# Exact versions that trained, exported and checked this model.",
        f"# python {versions.get('python', 'unknown')}",
        "# Serving needs only onnxruntime and numpy; the rest reproduce training and export.",
    ]
    for name, version in versions.items():
        if name != "python" and version != NOT_INSTALLED:
            lines.append(f"{name}=={version}")
    return "\n".join(lines) + "\n"


def parse_requirements(text: str) -> dict[str, str]:
    """{'numpy': '2.4.6', ...} from a requirements text written by `requirements_text`."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip()] = version.strip()
    return pins


def tensor_description(value_info: Any) -> dict[str, Any]:
    """name, datatype ('FP32', ...) and shape (-1 for a symbolic dimension) of one tensor."""
    tensor_type = value_info.type.tensor_type
    shape = [dim.dim_value if dim.HasField("dim_value") else -1 for dim in tensor_type.shape.dim]
    datatype = ONNX_TYPE_NAMES.get(tensor_type.elem_type, str(tensor_type.elem_type))
    return {"name": value_info.name, "datatype": datatype, "shape": shape}


def describe_onnx(path: Path) -> OnnxDescription:
    """Opset of the default domain, IR version, producer and signature of an ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    producer = f"{model.producer_name} {model.producer_version}".strip()
    return OnnxDescription(
        opset=int(opset),
        ir_version=int(model.ir_version),
        producer=producer,
        inputs=[tensor_description(t) for t in model.graph.input],
        outputs=[tensor_description(t) for t in model.graph.output],
    )


def file_digest(path: Path, chunk_size: int = 1 << 20) -> FileDigest:
    """sha256 and size of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(chunk_size):
            digest.update(chunk)
    return FileDigest(sha256=digest.hexdigest(), size=path.stat().st_size)
