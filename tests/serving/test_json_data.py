"""Large flat `data` arrays parsed a slice at a time give exactly what the whole-document
parse gave: the same arrays bit for bit, the same refusals, the same JSON error positions."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from serving.codec import decode_infer
from serving.errors import BadRequest, InvalidTensor
from serving.json_data import LIFT_MIN_BYTES, SLICE_BYTES, LiftedArray, parse_document
from serving.tensors import DATATYPES

RNG = np.random.default_rng(7)
COUNT = 3 * SLICE_BYTES // 8  # several slices


def body(data: Any, datatype: str = "FP32", shape: list[int] | None = None) -> bytes:
    tensor = {"name": "x", "shape": shape or [len(data)], "datatype": datatype, "data": data}
    return orjson.dumps({"inputs": [tensor], "id": "r"})


def whole_parse(raw: bytes, datatype: str) -> np.ndarray:
    """What the server did before: orjson on the whole body, numpy on the list."""
    return np.asarray(orjson.loads(raw)["inputs"][0]["data"]).astype(DATATYPES[datatype])


@pytest.mark.parametrize(
    ("datatype", "values"),
    [("FP32", RNG.random(COUNT).tolist()), ("FP64", RNG.normal(size=COUNT).tolist()),
     ("FP16", RNG.integers(0, 255, COUNT).tolist()),
     ("INT64", RNG.integers(-2**62, 2**62, COUNT).tolist()),
     ("UINT8", RNG.integers(0, 255, COUNT).tolist()),
     ("BOOL", [bool(v) for v in RNG.integers(0, 2, COUNT)]),
     ("FP32", [0] * COUNT), ("FP32", [-0.0, 1e-45, 3.4e38, 1, -0, 2**53 + 1] * (COUNT // 6))],
)  # fmt: skip
def test_large_data_decodes_bit_for_bit_as_the_whole_parse(
    datatype: str, values: list[Any]
) -> None:
    raw = body(values, datatype)
    array = decode_infer(bytearray(raw), None).request.inputs[0].array
    expected = whole_parse(raw, datatype)
    assert (array.dtype, array.shape) == (expected.dtype, expected.shape)
    assert array.tobytes() == expected.tobytes()


def test_only_large_flat_input_data_is_lifted() -> None:
    small = body([1.0] * 10)
    assert isinstance(parse_document(small)[0]["inputs"][0]["data"], list)
    nested = body([[1.0] * LIFT_MIN_BYTES], shape=[1, LIFT_MIN_BYTES])
    assert isinstance(parse_document(nested)[0]["inputs"][0]["data"], list)
    large = body([1.0] * LIFT_MIN_BYTES)
    assert isinstance(parse_document(large)[0]["inputs"][0]["data"], LiftedArray)
    elsewhere = orjson.dumps({"inputs": [], "parameters": {"data": [1.0] * LIFT_MIN_BYTES}})
    assert isinstance(parse_document(elsewhere)[0]["parameters"]["data"], str)


PREFIX = b'{"inputs":[{"name":"x","shape":[%d],"datatype":"FP32","data":[' % COUNT
INVALID = [
    PREFIX + b"1.5," * COUNT + b"]}]}",  # trailing comma
    PREFIX + b"1.5," * (COUNT - 1) + b"1.5]}]",  # document cut short after the array
    PREFIX + b"1," * (COUNT // 2) + b"," + b"1," * (COUNT // 2 - 1) + b"1]}]}",  # empty value
    PREFIX + b"1," * (COUNT - 1) + b"NaN]}]}",
    PREFIX + b"1," * (COUNT - 1) + b"1e400]}]}",
    PREFIX + b"1,\n" * (COUNT - 1) + b"1x]}]}",
    PREFIX + b"1," * (COUNT - 1) + b"1]}], nope}",
]


@pytest.mark.parametrize("raw", INVALID, ids=range(len(INVALID)))
def test_invalid_json_gets_orjsons_message_and_position(raw: bytes) -> None:
    with pytest.raises(orjson.JSONDecodeError) as whole:
        orjson.loads(raw)
    with pytest.raises(BadRequest) as sliced:
        decode_infer(bytearray(raw), None)
    assert sliced.value.message == f"request body is not valid JSON: {whole.value}"


@pytest.mark.parametrize(
    ("datatype", "last", "reason"),
    [("FP32", b"true", "holds boolean values, datatype FP32 needs number values"),
     ("INT32", b"false", "holds boolean values, datatype INT32 needs integer values"),
     ("INT32", b"1.5", "holds number values, datatype INT32 needs integer values"),
     ("INT8", b"300", "values out of range for INT8"),
     ("FP32", b"null", "holds mixed values"),
     ("BOOL", b"1", "holds integer values, datatype BOOL needs boolean values")],
)  # fmt: skip
def test_a_bad_value_anywhere_in_large_data_is_refused(
    datatype: str, last: bytes, reason: str
) -> None:
    first = b"true" if datatype == "BOOL" else b"1"
    raw = PREFIX.replace(b"FP32", datatype.encode()) + (first + b",") * (COUNT - 1) + last + b"]}]}"
    with pytest.raises(InvalidTensor, match=reason):
        decode_infer(bytearray(raw), None)


def test_large_data_of_the_wrong_length_is_refused() -> None:
    raw = body([1.0] * COUNT, shape=[COUNT + 1])
    with pytest.raises(InvalidTensor, match=f"needs {COUNT + 1} elements, 'data' has {COUNT}"):
        decode_infer(bytearray(raw), None)


@pytest.mark.parametrize("data", [[True, 1.0], [[1.0], [False]], [1, True]])
def test_booleans_among_small_numeric_data_are_refused(data: list[Any]) -> None:
    raw = body(data, shape=[2] if not isinstance(data[0], list) else [2, 1])
    with pytest.raises(InvalidTensor, match="holds boolean values"):
        decode_infer(bytearray(raw), None)


def test_a_true_elsewhere_in_the_body_leaves_numeric_data_alone() -> None:
    raw = orjson.dumps({"inputs": [{"name": "x", "shape": [2], "datatype": "FP32",
                                    "data": [1.0, 0.5]}],
                        "parameters": {"binary_data_output": True}})  # fmt: skip
    wire = decode_infer(bytearray(raw), None)
    assert wire.request.inputs[0].array.tolist() == [1.0, 0.5]
    assert wire.binary_default is True
