"""`serving.protobuf_wire`: raw inputs split out of a ModelInferRequest unparsed, the rest
parsed by protobuf, malformed bytes refused."""

from __future__ import annotations

import numpy as np
import pytest
from tritonclient.grpc import service_pb2 as pb

from serving.grpc_calls import PREFIX_BYTES, GrpcCall, Method
from serving.grpc_codec import InferRequestParser, decode_infer
from serving.protobuf_wire import WireError, field_start, read_varint, split_field, varint


def infer_message() -> pb.ModelInferRequest:
    tensors = [pb.ModelInferRequest.InferInputTensor(name=n, datatype="FP32", shape=[2, 3])
               for n in ("a", "b")]  # fmt: skip
    message = pb.ModelInferRequest(model_name="mnist", model_version="2", id="req-1",
                                   inputs=tensors)  # fmt: skip
    message.parameters["raw_output"].bool_param = True
    message.outputs.add(name="probabilities")
    message.raw_input_contents.extend(
        [np.arange(6, dtype="<f4").tobytes(), np.arange(6, 12, dtype="<f4").tobytes()]
    )
    return message


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32, 2**63 - 1])
def test_varint_round_trip(value: int) -> None:
    encoded = varint(value)
    assert read_varint(memoryview(encoded), 0) == (value, len(encoded))


def test_split_gives_protobufs_message_and_views_of_the_raw_inputs() -> None:
    original = infer_message()
    data = original.SerializeToString()
    split = InferRequestParser.FromString(memoryview(data))
    assert [bytes(view) for view in split.raw_inputs] == list(original.raw_input_contents)
    assert all(isinstance(view, memoryview) and view.obj is data for view in split.raw_inputs)
    without_raw = pb.ModelInferRequest()
    without_raw.CopyFrom(original)
    del without_raw.raw_input_contents[:]
    assert split.message == without_raw
    request, raw_answer = decode_infer(split)
    assert raw_answer
    assert [t.name for t in request.inputs] == ["a", "b"]
    np.testing.assert_array_equal(request.inputs[1].array, np.arange(6, 12).reshape(2, 3))


def test_split_keeps_raw_inputs_in_order_when_fields_interleave() -> None:
    first = pb.ModelInferRequest(raw_input_contents=[b"one"]).SerializeToString()
    name = pb.ModelInferRequest(model_name="m").SerializeToString()
    second = pb.ModelInferRequest(raw_input_contents=[b"two"]).SerializeToString()
    data = first + name + second  # protobuf appends repeated fields met again
    others, entries = split_field(memoryview(data), 7)
    assert [bytes(e) for e in entries] == [b"one", b"two"]
    assert pb.ModelInferRequest.FromString(others).model_name == "m"


def test_split_of_an_empty_message() -> None:
    assert split_field(memoryview(b""), 7) == (b"", [])


MALFORMED = {
    "varint cut short": b"\x0a",  # tag of field 1, no length
    "length past the end": b"\x3a\x64abc",  # field 7 says 100 bytes, 3 follow
    "other field past the end": b"\x0a\x05ab",
    "fixed64 cut short": b"\x09\x01\x02",
    "group wire type": b"\x0b",
    "wire type 7": b"\x0f\x00",
    "varint of 11 bytes": b"\x08" + b"\xff" * 10 + b"\x01",
}


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_bytes_are_refused(data: bytes) -> None:
    with pytest.raises(WireError):
        split_field(memoryview(data), 7)


def test_field_start_finds_the_first_raw_input_in_the_head_of_a_message() -> None:
    data = infer_message().SerializeToString()
    first_raw = InferRequestParser.FromString(memoryview(data)).raw_inputs[0]
    start = data.index(bytes(first_raw))
    assert field_start(memoryview(data), 7) == start
    assert field_start(memoryview(data)[: start + 1], 7) == start  # the head is enough
    assert field_start(memoryview(data)[: start - 1], 7) is None  # cut inside its length
    no_raw = pb.ModelInferRequest(model_name="m").SerializeToString()
    assert field_start(memoryview(no_raw), 7) is None


@pytest.mark.parametrize("data", MALFORMED.values(), ids=MALFORMED.keys())
def test_field_start_in_malformed_bytes(data: bytes) -> None:
    """None, except where the head holds the field's tag and length: a head may end
    before the value does (the whole message's parse refuses it later)."""
    expected = 2 if data.startswith(b"\x3a") else None
    assert field_start(memoryview(data), 7) == expected


class Connection:
    """What a GrpcCall asks of its connection while taking request bytes."""

    def consumed(self, stream_id: int, size: int) -> None: ...

    def send(self, stream_id: int, **parts: bytes) -> None: ...


def received_call(pieces: list[bytes] | list[memoryview]) -> GrpcCall:
    method = Method(InferRequestParser, lambda request, context: None)
    call = GrpcCall(Connection(), 1, method, [], 1 << 20)  # type: ignore[arg-type]
    for piece in pieces:
        call.data(memoryview(piece))
    return call


@pytest.mark.parametrize("padding", range(8))
def test_a_request_in_pieces_is_joined_with_its_raw_inputs_aligned(padding: int) -> None:
    """Whatever the fields before them, the raw inputs of a request that came in several
    pieces start 8-aligned in the joined body, so numpy's checks run at full speed."""
    message = infer_message()
    message.id = "x" * padding
    data = message.SerializeToString()
    body = b"\0" + len(data).to_bytes(4, "big") + data
    call = received_call([body[i : i + 16] for i in range(0, len(body), 16)])
    joined = call.joined()
    assert bytes(joined) == body
    split = InferRequestParser.FromString(memoryview(joined)[PREFIX_BYTES:])
    arrays = [np.frombuffer(view, "<f4") for view in split.raw_inputs]
    assert arrays[0].ctypes.data % 8 == 0
    np.testing.assert_array_equal(arrays[1], np.arange(6, 12))


def test_a_request_in_one_piece_is_taken_as_it_came() -> None:
    data = infer_message().SerializeToString()
    piece = memoryview(b"\0" + len(data).to_bytes(4, "big") + data)
    call = received_call([piece])
    joined = call.joined()
    assert isinstance(joined, memoryview)
    assert joined.obj is piece.obj  # taken as it came: the prefix was read without a copy
