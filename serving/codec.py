"""Wire format of inference: OIP v2 JSON, plus Triton's binary tensor data extension.

A body may be JSON only, or JSON followed by raw tensor bytes, with the JSON's length in the
`Inference-Header-Content-Length` header. Outputs go back as JSON `data` or, when asked for
(`binary_data` on an output or `binary_data_output` on the request), as raw bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from serving.errors import BadRequest, InvalidTensor
from serving.json_data import Buffer, parse_document
from serving.tensors import (
    array_from_bytes,
    array_from_json,
    array_to_bytes,
    checked_shape,
    datatype_of,
    dtype_for,
)
from serving.types import InferenceRequest, InferenceResponse, NamedTensor

JSON_CONTENT = b"application/json"
BINARY_CONTENT = b"application/octet-stream"
HEADER_LENGTH = b"inference-header-content-length"


@dataclass(frozen=True)
class WireRequest:
    """The neutral request plus how the client wants each output encoded."""

    request: InferenceRequest
    binary_default: bool = False
    binary_outputs: dict[str, bool] = field(default_factory=dict)


def parse_json(body: bytes | bytearray | memoryview) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}") from None


def split_body(body: Buffer, header_length: int | None) -> tuple[Buffer, memoryview]:
    """(JSON part, binary part) of a request body."""
    view = memoryview(body)
    if header_length is None:
        return body, view[len(view) :]
    if not 0 < header_length <= len(body):
        raise BadRequest(
            f"Inference-Header-Content-Length {header_length} does not fit a body of "
            f"{len(body)} bytes"
        )
    return bytes(view[:header_length]), view[header_length:]


def parameters_of(where: str, item: dict[str, Any]) -> dict[str, Any]:
    parameters = item.get("parameters")
    if parameters is None:
        return {}
    if not isinstance(parameters, dict):
        raise BadRequest(f"{where}: 'parameters' must be an object")
    return parameters


def decode_infer(body: Buffer, header_length: int | None) -> WireRequest:
    """Parse an inference request body into a WireRequest (large flat `data` arrays go
    straight into numpy, see serving.json_data)."""
    json_part, binary = split_body(body, header_length)
    document, literal_bools = parse_document(json_part)
    if not isinstance(document, dict):
        raise BadRequest("request body must be a JSON object")
    inputs, used = decode_inputs(document.get("inputs"), binary, literal_bools)
    if used != len(binary):
        raise BadRequest(
            f"binary data is {len(binary)} bytes but the inputs' binary_data_size add up to {used}"
        )
    output_names, binary_outputs = decode_outputs(document.get("outputs"))
    binary_default = parameters_of("request", document).get("binary_data_output", False)
    request = InferenceRequest(inputs, output_names, request_id(document))
    return WireRequest(request, binary_default is True, binary_outputs)


def request_id(document: dict[str, Any]) -> str | None:
    value = document.get("id")
    if value is not None and not isinstance(value, str):
        raise BadRequest("'id' must be a string")
    return value


def decode_inputs(
    inputs: object, binary: memoryview, literal_bools: bool = True
) -> tuple[list[NamedTensor], int]:
    """Every input tensor, and how many bytes of the binary part they consumed
    (`literal_bools`: the JSON holds a `true`/`false` somewhere)."""
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest("'inputs' must be a non-empty list of tensors")
    tensors: list[NamedTensor] = []
    offset = 0
    for item in inputs:
        tensor, size = decode_input(item, binary[offset:], literal_bools)
        tensors.append(tensor)
        offset += size
    return tensors, offset


def decode_input(item: object, binary: memoryview, literal_bools: bool) -> tuple[NamedTensor, int]:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise BadRequest("each input must be an object with a string 'name'")
    name = item["name"]
    shape = checked_shape(name, item.get("shape"))
    dtype = dtype_for(name, item.get("datatype"))
    size = parameters_of(f"input {name!r}", item).get("binary_data_size")
    if size is None:
        if "data" not in item:
            raise InvalidTensor(f"tensor {name!r}: 'data' is missing")
        array = array_from_json(name, shape, dtype, item["data"], literal_bools)
        return NamedTensor(name, array), 0
    if type(size) is not int or not 0 <= size <= len(binary):
        raise InvalidTensor(
            f"tensor {name!r}: binary_data_size {size!r} does not fit the {len(binary)} bytes "
            "of binary data left"
        )
    return NamedTensor(name, array_from_bytes(name, shape, item["datatype"], binary[:size])), size


def decode_outputs(outputs: object) -> tuple[list[str] | None, dict[str, bool]]:
    """Requested output names (None: all) and their binary_data flags."""
    if outputs is None:
        return None, {}
    if not isinstance(outputs, list):
        raise BadRequest("'outputs' must be a list")
    names: list[str] = []
    binary: dict[str, bool] = {}
    for item in outputs:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise BadRequest("each requested output must be an object with a string 'name'")
        names.append(item["name"])
        flag = parameters_of(f"output {item['name']!r}", item).get("binary_data")
        if flag is not None:
            binary[item["name"]] = flag is True
    return names, binary


def encode_infer(response: InferenceResponse, wire: WireRequest) -> tuple[bytes, list[Any]]:
    """(body, extra headers) of an inference response."""
    outputs: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for tensor in response.outputs:
        entry, blob = encode_output(tensor.name, tensor.array, wire)
        outputs.append(entry)
        if blob is not None:
            blobs.append(blob)
    document: dict[str, Any] = {
        "model_name": response.model_name,
        "model_version": response.model_version,
        "outputs": outputs,
    }
    if response.id is not None:
        document["id"] = response.id
    head = orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return head, [(b"content-type", JSON_CONTENT)]
    headers = [(b"content-type", BINARY_CONTENT), (HEADER_LENGTH, str(len(head)).encode())]
    return head + b"".join(blobs), headers


def encode_output(
    name: str, array: np.ndarray, wire: WireRequest
) -> tuple[dict[str, Any], bytes | None]:
    entry: dict[str, Any] = {"name": name, "datatype": datatype_of(array), "shape": array.shape}
    if wire.binary_outputs.get(name, wire.binary_default):
        blob = array_to_bytes(array)
        entry["parameters"] = {"binary_data_size": len(blob)}
        return entry, blob
    if array.dtype.kind == "O":
        entry["data"] = [str(value) for value in array.ravel()]
    else:
        entry["data"] = np.ascontiguousarray(array).ravel()
    return entry, None
