"""Does a model fit the installed onnxruntime? IR version and opsets, checked before loading.

onnxruntime has no API that says which IR version and opsets it supports, so they are
measured once: tiny probe models stamped with increasing versions are offered to it, and
the highest one it accepts is the limit. The refusal names both the model's and the
runtime's versions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import onnx
import onnxruntime as ort
from onnx import TensorProto, helper

from serving.errors import LoadRefused

PROBED_DOMAINS = ("", "ai.onnx.ml")
PROBE_CEILING = 64


@dataclass(frozen=True)
class RuntimeSupport:
    """The highest IR version and opset per domain the installed onnxruntime accepts."""

    ort_version: str
    max_ir_version: int
    max_opsets: dict[str, int]

    def refusal(self, model: onnx.ModelProto) -> str | None:
        """Why `model` does not fit this runtime, or None when it does."""
        if model.ir_version > self.max_ir_version:
            return (
                f"model has ONNX IR version {model.ir_version}, but onnxruntime "
                f"{self.ort_version} supports IR versions up to {self.max_ir_version}"
            )
        for opset in model.opset_import:
            limit = self.max_opsets.get(opset.domain)
            if limit is not None and opset.version > limit:
                return (
                    f"model uses opset {opset.version} of domain {domain_name(opset.domain)}, "
                    f"but onnxruntime {self.ort_version} supports that domain up to opset {limit}"
                )
        return None

    def check(self, model: onnx.ModelProto) -> None:
        reason = self.refusal(model)
        if reason is not None:
            raise LoadRefused(reason)


def domain_name(domain: str) -> str:
    return domain or "ai.onnx"


def probe_model(ir_version: int, domain: str, opset: int) -> bytes:
    """The smallest model stamped with `ir_version` and `opset` for `domain`."""
    value = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    result = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], "probe", [value], [result])
    imports = [helper.make_opsetid("", 13 if domain else opset)]
    if domain:
        imports.append(helper.make_opsetid(domain, opset))
    model = helper.make_model(graph, opset_imports=imports)
    model.ir_version = ir_version
    return bytes(model.SerializeToString())


def accepted(model_bytes: bytes) -> bool:
    try:
        ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    except Exception:
        return False
    return True


def highest_accepted(low: int, build: Callable[[int], bytes]) -> int:
    """Binary search for the highest version in [low, PROBE_CEILING] that onnxruntime accepts."""
    high = PROBE_CEILING
    while low < high:
        middle = (low + high + 1) // 2
        if accepted(build(middle)):
            low = middle
        else:
            high = middle - 1
    return low


@functools.cache
def runtime_support() -> RuntimeSupport:
    """Measure (once per process) what the installed onnxruntime accepts."""
    max_ir = highest_accepted(7, lambda ir: probe_model(ir, "", 13))
    opsets = {
        domain: highest_accepted(1, functools.partial(probe_model, max_ir, domain))
        for domain in PROBED_DOMAINS
    }
    return RuntimeSupport(ort.__version__, max_ir, opsets)
