"""The fast reading of an inference request's JSON: float `data` straight into numpy.

orjson turns every number of a tensor's `data` into a Python float, which numpy then copies
one by one. simdjson (pysimdjson) parses the body into its own tape and hands a list of
numbers over as one buffer of doubles, with no Python object per element.

`read_document` returns the same document orjson would, except that the `data` of every
input (all of float datatypes) is a flat float64 array. It returns None whenever that might
not hold, and the caller then decodes with orjson (which also words every error): the body
does not parse (simdjson is as strict as orjson, except that it refuses numbers orjson
reads as infinity), an input with `data` is not FP16/FP32/FP64, or `data` holds strings,
booleans, nulls or nested lists.
Nested lists are ruled out by counting: the JSON text must hold no more `[` than the arrays
accounted for (a `[` inside a string makes the count differ too, which only means
orjson decodes that body).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import simdjson

FLOAT_DATATYPES = frozenset({"FP16", "FP32", "FP64"})


class NotFast(Exception):
    """This body is better decoded by orjson."""


def read_document(json_part: bytes | memoryview, brackets: int) -> dict[str, Any] | None:
    """The request document with float `data` as numpy, or None (decode it with orjson).

    `brackets` is the number of `[` bytes in `json_part` (counted by the caller, who holds
    the body as bytes).
    """
    try:
        document = simdjson.Parser().parse(json_part)
        if not isinstance(document, simdjson.Object):
            raise NotFast
        result, arrays = read_object(document)
    except (NotFast, ValueError, TypeError, RuntimeError):
        return None
    return result if arrays == brackets else None


def read_object(document: Any) -> tuple[dict[str, Any], int]:
    """The top-level object, and how many JSON arrays it holds."""
    result: dict[str, Any] = {}
    arrays = 0
    for key, value in members(document):
        if key == "inputs" and isinstance(value, simdjson.Array):
            result[key] = [read_tensor(item) for item in value]
            tensors = result[key]
            arrays += 1 + sum(1 for tensor in tensors if "data" in tensor)
            arrays += sum(count_lists(tensor, skip="data") for tensor in tensors)
        else:
            result[key] = plain(value)
            arrays += count_lists(result[key])
    return result, arrays


def read_tensor(item: Any) -> dict[str, Any]:
    """One input tensor whose `data`, if any, is a flat list of numbers: as float64."""
    if not isinstance(item, simdjson.Object):
        raise NotFast
    tensor: dict[str, Any] = {}
    data: Any = None
    for key, value in members(item):
        if key == "data":
            data = value
        else:
            tensor[key] = plain(value)
    if data is None:
        return tensor
    if tensor.get("datatype") not in FLOAT_DATATYPES or not isinstance(data, simdjson.Array):
        raise NotFast
    tensor["data"] = np.frombuffer(data.as_buffer(of_type="d"), dtype=np.float64)
    return tensor


def members(document: Any) -> list[tuple[str, Any]]:
    """(key, simdjson value) pairs of an object without duplicate keys (`items()` converts)."""
    keys = list(document.keys())
    if len(set(keys)) != len(keys):
        raise NotFast  # orjson keeps the last value of a duplicate key; simdjson the first
    return [(key, document[key]) for key in keys]


def plain(value: Any) -> Any:
    """A simdjson value as Python (dict, list, str, int, float, bool, None)."""
    if isinstance(value, simdjson.Object):
        return value.as_dict()
    if isinstance(value, simdjson.Array):
        return value.as_list()
    return value


def count_lists(value: Any, skip: str = "") -> int:
    """How many lists `value` holds, itself included (not counting the key `skip`)."""
    if isinstance(value, list):
        return 1 + sum(count_lists(item) for item in value)
    if isinstance(value, dict):
        return sum(count_lists(item) for key, item in value.items() if key != skip)
    return 0
