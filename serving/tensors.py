"""Tensors on the wire ↔ numpy arrays: datatypes, shapes, JSON data and raw bytes.

Everything is vectorised: JSON `data` (nested or flat) goes through one `np.asarray`, binary
data through one `np.frombuffer`; no per-element Python loops.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from serving.errors import InvalidTensor
from serving.json_data import LiftedArray

DATATYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
}
LITTLE_ENDIAN = {name: dtype.newbyteorder("<") for name, dtype in DATATYPES.items()}
DATATYPE_OF = {dtype: name for name, dtype in DATATYPES.items()}
JSON_KINDS = {"f": "fiu", "i": "iu", "u": "iu", "b": "b"}
KIND_NAMES = {"f": "number", "i": "integer", "u": "integer", "b": "boolean", "U": "string"}
MAX_RANK = 32
MAX_ELEMENTS = 2**40  # of the non-zero dimensions: far above any body limit, far below overflow
ORT_TYPES = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


def datatype_of(array: np.ndarray) -> str:
    """The OIP datatype name of a numpy array."""
    if array.dtype.kind in {"O", "U", "S"}:
        return "BYTES"
    return DATATYPE_OF[array.dtype.newbyteorder("=")]


def dtype_for(name: str, datatype: object) -> np.dtype[Any]:
    """The numpy dtype of an OIP datatype name; InvalidTensor for unknown or BYTES."""
    if not isinstance(datatype, str):
        raise InvalidTensor(f"tensor {name!r}: 'datatype' must be a string")
    if datatype == "BYTES":
        raise InvalidTensor(f"tensor {name!r}: BYTES tensors are not supported by this server")
    try:
        return DATATYPES[datatype]
    except KeyError:
        known = ", ".join([*DATATYPES, "BYTES"])
        raise InvalidTensor(f"tensor {name!r}: unknown datatype {datatype!r} ({known})") from None


def checked_shape(name: str, shape: object) -> tuple[int, ...]:
    """A request shape: at most MAX_RANK non-negative integers whose non-zero ones multiply
    to at most MAX_ELEMENTS (numpy cannot even shape an empty array past that)."""
    if not isinstance(shape, list) or not all(type(dim) is int and dim >= 0 for dim in shape):
        raise InvalidTensor(f"tensor {name!r}: 'shape' must be a list of non-negative integers")
    if len(shape) > MAX_RANK:
        raise InvalidTensor(f"tensor {name!r}: 'shape' has {len(shape)} dimensions, at most "
                            f"{MAX_RANK} are served")  # fmt: skip
    if math.prod(dim for dim in shape if dim) > MAX_ELEMENTS:
        raise InvalidTensor(f"tensor {name!r}: 'shape' {shape} is over {MAX_ELEMENTS} elements")
    return tuple(shape)


def element_count(shape: Sequence[int]) -> int:
    return math.prod(shape)


def array_from_json(
    name: str, shape: tuple[int, ...], dtype: np.dtype[Any], data: object,
    literal_bools: bool = True,
) -> Any:  # fmt: skip
    """Decode JSON `data` (flat or nested, row-major) into an array of `shape` and `dtype`.

    Values must be of the datatype's kind: numbers for FP*, integers in range for (U)INT*,
    booleans for BOOL; strings, booleans among numbers or mixed nesting are refused, never
    coerced. A large flat array left unparsed (LiftedArray) is checked a slice at a time.
    `literal_bools` False (the JSON holds no `true`/`false`) spares the scan for booleans.
    """
    if isinstance(data, LiftedArray):
        check = partial(check_values, name, dtype=dtype)
        return reshaped(name, data.to_array(dtype, check), shape)
    if not isinstance(data, list):
        raise InvalidTensor(f"tensor {name!r}: 'data' must be a list")
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise InvalidTensor(f"tensor {name!r}: 'data' is not a regular array ({exc})") from None
    numeric = array.dtype.kind in "iuf" and dtype.kind != "b"
    with_bools = literal_bools and numeric and holds_bool(data)
    check_values(name, array, with_bools, dtype)
    return reshaped(name, array.astype(dtype, copy=False), shape)


def check_values(name: str, array: np.ndarray, with_bools: bool, dtype: np.dtype[Any]) -> None:
    """InvalidTensor unless the values parsed from JSON are of `dtype`'s kind (and range);
    `with_bools`: booleans were among numbers (numpy made them numbers: refused as such)."""
    kind = "b" if with_bools and dtype.kind != "b" else array.dtype.kind
    if array.size and kind not in JSON_KINDS[dtype.kind]:
        raise InvalidTensor(
            f"tensor {name!r}: 'data' holds {KIND_NAMES.get(kind, 'mixed')} values, "
            f"datatype {DATATYPE_OF[dtype]} needs {KIND_NAMES[dtype.kind]} values"
        )
    if array.size and dtype.kind in "iu":
        check_int_range(name, array, dtype)


def holds_bool(data: list[Any]) -> bool:
    """True when a (nested) list holds a boolean, which numpy would coerce to a number."""
    types = set(map(type, data))  # one pass in C: a few microseconds for an image
    if bool in types:
        return True
    return list in types and any(holds_bool(row) for row in data if type(row) is list)


def check_int_range(name: str, array: np.ndarray, dtype: np.dtype[Any]) -> None:
    limits = np.iinfo(dtype)
    if array.min() < limits.min or array.max() > limits.max:
        raise InvalidTensor(f"tensor {name!r}: values out of range for {DATATYPE_OF[dtype]}")


def array_from_bytes(
    name: str, shape: tuple[int, ...], datatype: str, raw: bytes | memoryview
) -> Any:
    """Decode binary tensor data (little-endian, row-major, no padding) into `shape`."""
    dtype = LITTLE_ENDIAN[datatype]
    expected = element_count(shape) * dtype.itemsize
    if len(raw) != expected:
        raise InvalidTensor(
            f"tensor {name!r}: binary data has {len(raw)} bytes, shape {list(shape)} of "
            f"{datatype} needs {expected}"
        )
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


def reshaped(
    name: str, array: np.ndarray, shape: tuple[int, ...], source: str = "'data'"
) -> np.ndarray:
    """`array` in `shape`, or InvalidTensor when the element counts differ (naming the
    `source` field the values came in)."""
    if array.size != element_count(shape):
        raise InvalidTensor(
            f"tensor {name!r}: shape {list(shape)} needs {element_count(shape)} elements, "
            f"{source} has {array.size}"
        )
    return array.reshape(shape)


def array_to_bytes(array: np.ndarray) -> bytes:
    """Binary tensor data: little-endian, row-major."""
    if array.dtype.byteorder == ">":
        array = array.astype(array.dtype.newbyteorder("<"))
    return np.ascontiguousarray(array).tobytes()
