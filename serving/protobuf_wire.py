"""Just enough of the protobuf wire format to take one big field out of a message unparsed.

A `ModelInferRequest` of 256 digits is 0.8 MB of `raw_input_contents`; protobuf's parser
would copy those bytes into its message and again into each Python `bytes` read from it.
`split_field` walks the top-level fields instead (tag, then a varint, 8 bytes, 4 bytes or a
length-prefixed run: protobuf's encoding, protobuf.dev/programming-guides/encoding) and
returns the wanted field's entries as views into the received message, plus the other fields'
bytes for protobuf to parse as usual. Anything malformed raises `WireError`.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH_DELIMITED, FIXED32 = 0, 1, 2, 5
FIXED_SIZE = {FIXED64: 8, FIXED32: 4}
MAX_VARINT_BYTES = 10


class WireError(ValueError):
    """Bytes that are not a protobuf message."""


def varint(value: int) -> bytes:
    """`value` (≥ 0) as a base-128 varint."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data: memoryview, position: int) -> tuple[int, int]:
    """The varint at `position` and the position after it."""
    value = 0
    for index in range(MAX_VARINT_BYTES):
        if position + index >= len(data):
            raise WireError("a varint runs past the end of the message")
        byte = data[position + index]
        value |= (byte & 0x7F) << (7 * index)
        if byte < 0x80:
            return value, position + index + 1
    raise WireError("a varint longer than 10 bytes")


def field_end(data: memoryview, tag: int, position: int) -> tuple[int, int]:
    """Where the value of a field with `tag` starting at `position` begins and ends."""
    wire_type = tag & 7
    if wire_type == VARINT:
        return position, read_varint(data, position)[1]
    if wire_type == LENGTH_DELIMITED:
        length, start = read_varint(data, position)
        return start, start + length
    if wire_type in FIXED_SIZE:
        return position, position + FIXED_SIZE[wire_type]
    raise WireError(f"wire type {wire_type} (groups are not used by this message)")


def fields(data: memoryview) -> Iterator[tuple[int, int, int, int]]:
    """Each top-level field of `data` in order: its tag, where it begins, where its value
    starts and where it ends (the last may end past `data` when `data` is only a head)."""
    position = 0
    while position < len(data):
        tag, value_start = read_varint(data, position)
        start, end = field_end(data, tag, value_start)
        yield tag, position, start, end
        position = end


def field_start(data: memoryview, number: int) -> int | None:
    """Where the value of the first entry of length-delimited field `number` starts in
    `data` (a message, or only its first bytes); None if `data` ends first or is malformed
    (the whole message's parse says how)."""
    wanted = number << 3 | LENGTH_DELIMITED
    try:
        return next((start for tag, _, start, _ in fields(data) if tag == wanted), None)
    except WireError:
        return None


def split_field(data: memoryview, number: int) -> tuple[bytes, list[memoryview]]:
    """The message without its length-delimited field `number`, and that field's entries
    (views into `data`, in order)."""
    wanted = number << 3 | LENGTH_DELIMITED
    others: list[memoryview] = []
    entries: list[memoryview] = []
    for tag, begins, start, end in fields(data):
        if end > len(data):
            raise WireError("a field runs past the end of the message")
        if tag == wanted:
            entries.append(data[start:end])
        else:
            others.append(data[begins:end])
    return b"".join(others), entries
