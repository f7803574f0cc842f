"""The simdjson reading of request JSON gives exactly what the orjson reading gives, or steps aside.

Every body is decoded twice, with the fast path and with orjson alone: same tensors (dtype,
shape, values), same request id and outputs, or the same error.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from serving import codec
from serving.codec import decode_infer
from serving.errors import ServingError
from serving.fastjson import read_document

IMAGE = np.linspace(0, 1, 12, dtype=np.float32).reshape(1, 3, 4)


def tensor(data: Any, datatype: str = "FP32", shape: list[int] | None = None) -> dict[str, Any]:
    return {"name": "x", "shape": shape or [1, 3, 4], "datatype": datatype, "data": data}


def body(*tensors: dict[str, Any], **extra: Any) -> bytes:
    return json.dumps({"inputs": list(tensors), **extra}).encode()


FLAT = IMAGE.ravel().tolist()
BODIES = {
    "flat-fp32": body(tensor(FLAT)),
    "flat-fp64": body(tensor(FLAT, "FP64")),
    "flat-fp16": body(tensor(FLAT, "FP16")),
    "integers-for-fp32": body(tensor(list(range(12)))),
    "empty": body(tensor([], shape=[0, 3, 4])),
    "nested-regular": body(tensor(IMAGE.tolist())),
    "nested-ragged": body(tensor([[1.0, 2.0], [3.0]], shape=[3])),
    "nested-ragged-same-count": body(tensor([[], [1.0, 2.0]], shape=[2])),
    "mixed-depth": body(tensor([1.0, [2.0]], shape=[2])),
    "strings": body(tensor(["1"] * 12)),
    "booleans": body(tensor([True] * 12)),
    "nulls": body(tensor([None] * 12)),
    "int32-data": body(tensor(list(range(12)), "INT32")),
    "wrong-count": body(tensor(FLAT[:5])),
    "data-not-a-list": body(tensor(3.0, shape=[1])),
    "huge-number": b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", '
    b'"data": [1e400]}]}',
    "bracket-in-id": body(tensor(FLAT), id="run [7]"),
    "id-and-outputs": body(tensor(FLAT), id="r1", outputs=[{"name": "probabilities"}]),
    "parameters-with-list": body(tensor(FLAT), parameters={"tags": ["a", "b"]}),
    "duplicate-top-key": b'{"id": "a", "inputs": [{"name": "x", "shape": [1], "datatype": '
    b'"FP32", "data": [1.5]}], "id": "b"}',
    "duplicate-data-key": b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", '
    b'"data": [1.5], "data": [2.5]}]}',
    "two-inputs": body(tensor(FLAT), {**tensor(FLAT), "name": "y"}),
    "input-not-object": body("x"),  # type: ignore[arg-type]
    "inputs-not-list": json.dumps({"inputs": {"name": "x"}}).encode(),
    "not-an-object": b"[1, 2, 3]",
    "malformed": b'{"inputs": [',
    "nan-literal": b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [NaN]}]}',
}


def decoded(raw: bytes) -> Any:
    """What decode_infer makes of `raw`: comparable tensors and fields, or the error."""
    try:
        wire = decode_infer(raw, None)
    except ServingError as exc:
        return (type(exc).__name__, exc.message)
    request = wire.request
    tensors = [
        (t.name, t.array.dtype.str, t.array.shape, t.array.tobytes()) for t in request.inputs
    ]
    return tensors, request.output_names, request.id


@pytest.mark.parametrize("raw", BODIES.values(), ids=BODIES.keys())
def test_decode_fast_path_matches_orjson(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = decoded(raw)
    monkeypatch.setattr(codec, "read_document", lambda json_part, brackets: None)
    assert fast == decoded(raw)


@pytest.mark.parametrize(
    "name", ["flat-fp32", "flat-fp64", "integers-for-fp32", "empty", "id-and-outputs",
             "parameters-with-list", "two-inputs", "wrong-count"],
)  # fmt: skip
def test_read_document_takes_flat_float_data(name: str) -> None:
    raw = BODIES[name]
    document = read_document(raw, raw.count(b"["))
    assert document is not None
    assert all(isinstance(item["data"], np.ndarray) for item in document["inputs"])


@pytest.mark.parametrize(
    "name", ["nested-regular", "nested-ragged", "nested-ragged-same-count", "mixed-depth",
             "strings", "booleans", "nulls", "int32-data", "huge-number", "bracket-in-id",
             "duplicate-top-key", "duplicate-data-key", "input-not-object", "not-an-object",
             "malformed", "nan-literal"],
)  # fmt: skip
def test_read_document_steps_aside_for_orjson(name: str) -> None:
    raw = BODIES[name]
    assert read_document(raw, raw.count(b"[")) is None


def test_decode_fast_path_with_binary_input_part() -> None:
    """JSON with float data followed by binary data for a second input."""
    raw = IMAGE.astype("<f4").tobytes()
    second = {"name": "y", "shape": [1, 3, 4], "datatype": "FP32",
              "parameters": {"binary_data_size": len(raw)}}  # fmt: skip
    head = body(tensor(FLAT), second)
    wire = decode_infer(head + raw, len(head))
    x, y = wire.request.inputs
    np.testing.assert_array_equal(x.array, IMAGE)
    np.testing.assert_array_equal(y.array, IMAGE)
