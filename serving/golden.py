"""Golden files: recorded inputs and the outputs training saw; a mismatch is train/serve skew.

Accepted formats (detected from the content):
- `.npz` (numpy `savez`): one array per tensor, keyed by the model's input and output names,
  e.g. `x` [N,28,28] and `probabilities` [N,10];
- JSON: `{"inputs": {...}, "outputs": {...}}` with tensor name → nested list, or the same two
  keys holding Open Inference Protocol tensor lists (`name`, `shape`, `datatype`, `data`).
Other arrays (e.g. `labels`) are ignored. An optional scalar `tolerance` is the largest
absolute difference allowed (training writes 1e-5); without it the server's atol/rtol apply.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from serving.errors import LoadRefused
from serving.model import OnnxModel
from serving.tensors import DATATYPES
from serving.types import NamedTensor


@dataclass(frozen=True)
class GoldenCase:
    """Recorded model inputs and expected outputs, keyed by tensor name."""

    inputs: dict[str, np.ndarray]
    outputs: dict[str, np.ndarray]
    tolerance: float | None = None

    @classmethod
    def from_bytes(cls, data: bytes, model: OnnxModel, uri: str) -> GoldenCase:
        """Parse a golden file against `model`'s tensor names."""
        try:
            arrays = read_npz(data) if data[:2] == b"PK" else read_json(data)
        except (ValueError, KeyError, TypeError, zipfile.BadZipFile, orjson.JSONDecodeError) as exc:
            raise LoadRefused(f"golden file {uri} is unreadable: {exc}") from None
        input_names = {spec.name for spec in model.inputs}
        output_names = {spec.name for spec in model.outputs}
        inputs = {name: arrays[name] for name in input_names if name in arrays}
        outputs = {name: arrays[name] for name in output_names if name in arrays}
        if len(inputs) != len(input_names) or not outputs:
            raise LoadRefused(
                f"golden file {uri} must hold every model input {sorted(input_names)} and at "
                f"least one output of {sorted(output_names)}; it has {sorted(arrays)}"
            )
        return cls(inputs, outputs, tolerance_of(arrays))


def tolerance_of(arrays: dict[str, np.ndarray]) -> float | None:
    tolerance = arrays.get("tolerance")
    if tolerance is None:
        return None
    if tolerance.shape != () or tolerance.dtype.kind not in "fi" or not tolerance >= 0:
        raise LoadRefused("golden file: 'tolerance' must be a non-negative number")
    return float(tolerance)


def read_npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def read_json(data: bytes) -> dict[str, np.ndarray]:
    document = orjson.loads(data)
    arrays: dict[str, np.ndarray] = {}
    for part in ("inputs", "outputs"):
        arrays.update(json_tensors(document[part]))
    if "tolerance" in document:
        arrays["tolerance"] = np.asarray(document["tolerance"])
    return arrays


def json_tensors(tensors: Any) -> dict[str, np.ndarray]:
    """Name → array from a `{name: nested}` map or an OIP tensor list."""
    if isinstance(tensors, dict):
        return {name: np.asarray(value) for name, value in tensors.items()}
    return {
        tensor["name"]: np.asarray(tensor["data"], dtype=DATATYPES[tensor["datatype"]]).reshape(
            tensor["shape"]
        )
        for tensor in tensors
    }


def verify_golden(model: OnnxModel, case: GoldenCase, atol: float, rtol: float, uri: str) -> None:
    """Run the golden inputs; LoadRefused when any output differs beyond the tolerances."""
    try:
        feeds = model.feeds([NamedTensor(name, array) for name, array in case.inputs.items()])
        names = list(case.outputs)
        actual = dict(zip(names, model.run(feeds, names), strict=True))
    except Exception as exc:
        raise LoadRefused(f"golden file {uri}: the model could not run its inputs: {exc}") from None
    if case.tolerance is not None:
        atol, rtol = case.tolerance, 0.0
    for name, expected in case.outputs.items():
        check_close(name, actual[name], expected, atol, rtol, uri)


def check_close(
    name: str, actual: np.ndarray, expected: np.ndarray, atol: float, rtol: float, uri: str
) -> None:
    if actual.shape != expected.shape:
        raise LoadRefused(
            f"golden file {uri}: output {name!r} has shape {list(actual.shape)}, "
            f"golden has {list(expected.shape)} (train/serve skew)"
        )
    if not np.allclose(actual, expected, atol=atol, rtol=rtol):
        worst = float(np.max(np.abs(actual.astype(np.float64) - expected.astype(np.float64))))
        raise LoadRefused(
            f"golden file {uri}: output {name!r} differs from the recorded one by up to "
            f"{worst:.3g} (atol {atol}, rtol {rtol}): train/serve skew"
        )
