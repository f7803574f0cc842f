"""Protobuf of the OIP v2 gRPC service ↔ the data plane's protocol-neutral types.

The messages are Triton's `inference.GRPCInferenceService` (a wire-compatible superset of
KServe's `grpc_predict_v2.proto`), from tritonclient's generated modules. Tensors travel as
typed `contents` or as `raw_input_contents` / `raw_output_contents` (little-endian,
row-major); the shape, datatype and size checks are `serving.tensors`', as for REST.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from tritonclient.grpc import service_pb2 as pb

from serving.errors import BadRequest, InvalidTensor
from serving.protobuf_wire import field_start, split_field, varint
from serving.repository import IndexEntry
from serving.tensors import (
    array_from_bytes,
    array_to_bytes,
    check_int_range,
    checked_shape,
    datatype_of,
    dtype_for,
    reshaped,
)
from serving.types import InferenceRequest, InferenceResponse, ModelMetadata, NamedTensor

# Which `InferTensorContents` field holds each datatype (FP16 has none: raw only).
CONTENTS_FIELD = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
}
# The numpy type a contents field decodes to before the tensor's own datatype.
FIELD_DTYPE = {
    "bool_contents": np.dtype(np.bool_),
    "int_contents": np.dtype(np.int32),
    "int64_contents": np.dtype(np.int64),
    "uint_contents": np.dtype(np.uint32),
    "uint64_contents": np.dtype(np.uint64),
    "fp32_contents": np.dtype(np.float32),
    "fp64_contents": np.dtype(np.float64),
}
RAW_OUTPUT = "raw_output"  # request parameter: answer in raw_output_contents (bool)


RAW_INPUT_CONTENTS = pb.ModelInferRequest.DESCRIPTOR.fields_by_name["raw_input_contents"].number


class SplitInferRequest(NamedTuple):
    """A `ModelInferRequest` parsed without its `raw_input_contents`, and those entries as
    views into the received bytes (no copy of the tensor data)."""

    message: Any
    raw_inputs: list[memoryview]


class InferRequestParser:
    """`ModelInfer`'s request type for `grpc_calls`: protobuf parses everything but the raw
    inputs, which `protobuf_wire.split_field` leaves where they arrived."""

    DESCRIPTOR = pb.ModelInferRequest.DESCRIPTOR

    @staticmethod
    def FromString(data: memoryview) -> SplitInferRequest:  # noqa: N802 (protobuf's name)
        others, raw_inputs = split_field(data, RAW_INPUT_CONTENTS)
        return SplitInferRequest(pb.ModelInferRequest.FromString(others), raw_inputs)

    @staticmethod
    def bulk_offset(head: memoryview) -> int | None:
        """Where the first raw input starts in a message beginning with `head` (for
        `grpc_calls` to place it aligned)."""
        return field_start(head, RAW_INPUT_CONTENTS)


def decode_infer(split: SplitInferRequest) -> tuple[InferenceRequest, bool]:
    """The neutral request of a `ModelInferRequest`, and whether to answer with raw bytes.

    Answers are raw when the inputs were (KServe's rule), or when the request's
    `raw_output` parameter says so.
    """
    message, raw = split
    if not message.inputs:
        raise BadRequest("the request has no inputs")
    if raw and len(raw) != len(message.inputs):
        raise BadRequest(
            f"raw_input_contents has {len(raw)} entries for {len(message.inputs)} inputs"
        )
    if raw:
        inputs = [raw_input(tensor, data) for tensor, data in zip(message.inputs, raw, strict=True)]
    else:
        inputs = [typed_input(tensor) for tensor in message.inputs]
    names = [output.name for output in message.outputs] or None
    request = InferenceRequest(inputs, names, message.id or None)
    raw_output = raw_output_wanted(message.parameters)
    return request, bool(raw) or raw_output


def raw_output_wanted(parameters: Any) -> bool:
    if RAW_OUTPUT not in parameters:
        return False
    parameter = parameters[RAW_OUTPUT]
    if parameter.WhichOneof("parameter_choice") != "bool_param":
        raise BadRequest(f"parameter {RAW_OUTPUT!r} must be a bool")
    return bool(parameter.bool_param)


def tensor_header(tensor: Any) -> tuple[str, tuple[int, ...]]:
    name = tensor.name
    if not name:
        raise BadRequest("each input needs a name")
    dtype_for(name, tensor.datatype)  # unknown datatype or BYTES: InvalidTensor
    return name, checked_shape(name, list(tensor.shape))


def raw_input(tensor: Any, data: bytes | memoryview) -> NamedTensor:
    name, shape = tensor_header(tensor)
    if tensor.HasField("contents"):
        raise InvalidTensor(f"tensor {name!r}: contents given beside raw_input_contents")
    return NamedTensor(name, array_from_bytes(name, shape, tensor.datatype, data))


def typed_input(tensor: Any) -> NamedTensor:
    name, shape = tensor_header(tensor)
    field = CONTENTS_FIELD.get(tensor.datatype)
    if field is None:
        raise InvalidTensor(f"tensor {name!r}: {tensor.datatype} data must be raw_input_contents")
    contents = tensor.contents
    others = [f.name for f, _ in contents.ListFields() if f.name != field]
    if others:
        raise InvalidTensor(
            f"tensor {name!r}: datatype {tensor.datatype} takes {field}, not {', '.join(others)}"
        )
    dtype = dtype_for(name, tensor.datatype)
    array = np.array(getattr(contents, field), dtype=FIELD_DTYPE[field])
    if array.size and dtype.kind in "iu" and dtype.itemsize < array.dtype.itemsize:
        check_int_range(name, array, dtype)
    return NamedTensor(name, reshaped(name, array.astype(dtype, copy=False), shape, field))


def encode_infer(response: InferenceResponse, raw: bool) -> Any:
    """The `ModelInferResponse` of `response`, tensors raw or typed."""
    message = pb.ModelInferResponse(
        model_name=response.model_name, model_version=response.model_version,
        id=response.id or "",
    )  # fmt: skip
    for tensor in response.outputs:
        array = tensor.array
        output = message.outputs.add(
            name=tensor.name, datatype=datatype_of(array), shape=array.shape
        )
        if raw:
            message.raw_output_contents.append(array_to_bytes(array))
        else:
            typed_contents(output.contents, array)
    return message


def typed_contents(contents: Any, array: np.ndarray) -> None:
    field = CONTENTS_FIELD.get(datatype_of(array))
    if field is None:  # FP16 and BYTES have no typed field of their own
        raise BadRequest(f"{datatype_of(array)} outputs need the request parameter 'raw_output'")
    getattr(contents, field).extend(array.ravel().tolist())


def model_metadata(metadata: ModelMetadata) -> Any:
    def spec(tensor: Any) -> Any:
        return pb.ModelMetadataResponse.TensorMetadata(
            name=tensor.name, datatype=tensor.datatype, shape=tensor.shape
        )

    return pb.ModelMetadataResponse(
        name=metadata.name, versions=metadata.versions, platform=metadata.platform,
        inputs=[spec(t) for t in metadata.inputs], outputs=[spec(t) for t in metadata.outputs],
    )  # fmt: skip


def repository_index(entries: list[IndexEntry]) -> Any:
    def row(entry: IndexEntry) -> Any:
        return pb.RepositoryIndexResponse.ModelIndex(
            name=entry.name, version=entry.version, state=entry.state.value, reason=entry.reason
        )

    return pb.RepositoryIndexResponse(models=[row(entry) for entry in entries])


def load_parameters(parameters: Any) -> dict[str, Any]:
    """A load's `ModelRepositoryParameter` map as the values REST's JSON parameters give."""
    values: dict[str, Any] = {}
    for key, parameter in parameters.items():
        choice = parameter.WhichOneof("parameter_choice")
        if choice is None:
            raise BadRequest(f"load parameter {key!r} has no value")
        values[key] = getattr(parameter, choice)  # the loader refuses all but strings
    return values


def repository_model_name(request: Any) -> str:
    """The model a load/unload names: Triton's `model_name` (field 2), or KServe's, whose
    `model_name` is field 1, which Triton's message calls `repository_name`."""
    return request.model_name or request.repository_name


def repository_answer(message_type: Any, name: str) -> Any:
    """Triton's empty load/unload answer, carrying KServe's fields too (`model_name` = 1,
    `isLoaded`/`isUnloaded` = 2) as unknown fields, which Triton's clients skip."""
    encoded = name.encode()
    answer = message_type()
    answer.MergeFromString(b"\x0a" + varint(len(encoded)) + encoded + b"\x10\x01")
    return answer
