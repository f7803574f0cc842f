"""One loaded ONNX model: an onnxruntime session that only ever sees numpy arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import onnxruntime as ort

from serving.errors import InvalidTensor, ServingError
from serving.tensors import DATATYPES, ORT_TYPES, datatype_of
from serving.types import ModelMetadata, NamedTensor, TensorSpec

CONVERTIBLE_KINDS = {"f": "fiu", "i": "iu", "u": "u", "b": "b"}


def session_options(threads: int, spin_between_runs: bool = False) -> ort.SessionOptions:
    """Sequential execution, full graph optimisation, `threads` intra-op threads.

    The intra-op threads spin while a run lasts but stop as soon as it ends
    (`session.force_spinning_stop`; onnxruntime's default, `spin_between_runs`, keeps them
    spinning): spinning on, the second thread held a core that the event loop and the client
    needed to send the answer and the next request (on 2 cores, 256 images over gRPC, the
    answer's write took ~0.6 ms instead of ~0.1 ms; 2026-12-06)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    stop_spinning = "0" if spin_between_runs else "1"
    options.add_session_config_entry("session.force_spinning_stop", stop_spinning)
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return options


def cpu_session(model_bytes: bytes, threads: int) -> ort.InferenceSession:
    return ort.InferenceSession(
        model_bytes, sess_options=session_options(threads), providers=["CPUExecutionProvider"]
    )


def tensor_spec(node: Any) -> TensorSpec:
    """TensorSpec of an onnxruntime NodeArg (symbolic or unknown dimensions become -1)."""
    shape = tuple(dim if isinstance(dim, int) else -1 for dim in (node.shape or []))
    return TensorSpec(node.name, ORT_TYPES.get(node.type, node.type), shape)


class OnnxModel:
    """An onnxruntime session plus its name, version label and declared tensors."""

    def __init__(
        self,
        name: str,
        version: str,
        session: ort.InferenceSession,
        properties: Mapping[str, str] | None = None,
        large_session: ort.InferenceSession | None = None,
    ) -> None:
        self.name = name
        self.version = version
        self.session = session
        self.large_session = large_session or session
        self.properties = dict(properties or {})
        self.inputs = [tensor_spec(node) for node in session.get_inputs()]
        self.outputs = [tensor_spec(node) for node in session.get_outputs()]
        self._input_specs = {spec.name: spec for spec in self.inputs}
        self._output_names = [spec.name for spec in self.outputs]

    @classmethod
    def from_bytes(
        cls,
        name: str,
        version: str,
        model_bytes: bytes,
        threads: int = 1,
        properties: Mapping[str, str] | None = None,
        large_threads: int | None = None,
    ) -> OnnxModel:
        """Build the session from serialized ONNX (CPU execution provider).

        With `large_threads` (and unless it equals `threads`) a second session with that
        many intra-op threads serves large runs (see `run`).
        """
        large = None
        if large_threads is not None and large_threads != threads:
            large = cpu_session(model_bytes, large_threads)
        return cls(name, version, cpu_session(model_bytes, threads), properties, large)

    def metadata(self) -> ModelMetadata:
        return ModelMetadata(
            self.name, [self.version], self.inputs, self.outputs, properties=self.properties
        )

    def feeds(self, tensors: Sequence[NamedTensor]) -> dict[str, np.ndarray]:
        """Check request tensors against the declared inputs; convert to the model's dtypes."""
        feeds: dict[str, np.ndarray] = {}
        for tensor in tensors:
            spec = self._input_specs.get(tensor.name)
            if spec is None:
                raise InvalidTensor(f"unknown input {tensor.name!r}; model inputs: {self._names()}")
            if tensor.name in feeds:
                raise InvalidTensor(f"input {tensor.name!r} is given more than once")
            feeds[tensor.name] = conformed(spec, tensor.array)
        missing = [name for name in self._input_specs if name not in feeds]
        if missing:
            raise InvalidTensor(f"missing input(s) {missing}; model inputs: {self._names()}")
        return feeds

    def output_names(self, requested: Sequence[str] | None) -> list[str]:
        """The outputs to compute: all when `requested` is None, else the checked subset."""
        if requested is None:
            return self._output_names
        for name in requested:
            if name not in self._output_names:
                raise InvalidTensor(f"unknown output {name!r}; model outputs: {self._output_names}")
        if len(set(requested)) != len(requested):
            raise InvalidTensor("an output is requested more than once")
        return list(requested)

    def run(
        self, feeds: Mapping[str, np.ndarray], output_names: list[str], large: bool = False
    ) -> list[np.ndarray]:
        """session.run (the large-run session when `large`); onnxruntime's complaints about
        inputs become InvalidTensor."""
        session = self.large_session if large else self.session
        try:
            return session.run(output_names, dict(feeds))
        except ort.capi.onnxruntime_pybind11_state.InvalidArgument as exc:
            raise InvalidTensor(f"model {self.name!r} rejected the inputs: {exc}") from None
        except Exception as exc:
            raise ServingError(f"model {self.name!r} failed to run: {exc}") from None

    def _names(self) -> list[str]:
        return list(self._input_specs)


def conformed(spec: TensorSpec, array: np.ndarray) -> np.ndarray:
    """`array` checked against `spec` (rank, fixed dimensions, values) in the model's dtype."""
    check_shape(spec, array.shape)
    target = DATATYPES.get(spec.datatype)
    if target is None:
        raise InvalidTensor(f"input {spec.name!r} has datatype {spec.datatype}, not supported")
    if array.dtype != target:
        array = converted(spec, array, target)
    if target.kind == "f" and not np.isfinite(array).all():
        raise InvalidTensor(f"input {spec.name!r} contains NaN or infinite values")
    return array


def check_shape(spec: TensorSpec, shape: tuple[int, ...]) -> None:
    """Same rank, and every fixed dimension of the model's input matches."""
    fits = len(shape) == len(spec.shape) and all(
        want < 0 or want == got for want, got in zip(spec.shape, shape, strict=True)
    )
    if not fits:
        raise InvalidTensor(
            f"input {spec.name!r} has shape {list(shape)}, model expects {list(spec.shape)} "
            "(-1 = any size)"
        )


def converted(spec: TensorSpec, array: np.ndarray, target: np.dtype[Any]) -> np.ndarray:
    """Numeric conversion to the model's dtype (e.g. FP64 → FP32); others are refused."""
    allowed = CONVERTIBLE_KINDS.get(target.kind, "")
    safe_int = target.kind == "f" or np.can_cast(array.dtype, target, "safe")
    if array.dtype.kind not in allowed or not safe_int:
        raise InvalidTensor(
            f"input {spec.name!r} has datatype {datatype_of(array)}, model expects {spec.datatype}"
        )
    with np.errstate(over="ignore"):
        return array.astype(target)
