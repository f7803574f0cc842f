"""HTTP/2 wire constants and the frames and header blocks the server writes (RFC 9113, 7541).

Only what a gRPC server over cleartext HTTP/2 (h2c with prior knowledge) needs. Header
blocks the server sends use HPACK literals that never touch the dynamic table, so they can
be built once and written as they are on every connection.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Generic, TypeVar

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_HEADER_BYTES = 9
DEFAULT_WINDOW = 65535
MAX_WINDOW = 2**31 - 1
DEFAULT_MAX_FRAME = 16384
LARGEST_MAX_FRAME = 2**24 - 1
DEFAULT_HEADER_TABLE = 4096


class FrameType(IntEnum):
    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9


class ErrorCode(IntEnum):
    NO_ERROR = 0x0
    PROTOCOL_ERROR = 0x1
    INTERNAL_ERROR = 0x2
    FLOW_CONTROL_ERROR = 0x3
    STREAM_CLOSED = 0x5
    FRAME_SIZE_ERROR = 0x6
    REFUSED_STREAM = 0x7
    CANCEL = 0x8
    COMPRESSION_ERROR = 0x9
    ENHANCE_YOUR_CALM = 0xB


class Setting(IntEnum):
    HEADER_TABLE_SIZE = 0x1
    ENABLE_PUSH = 0x2
    MAX_CONCURRENT_STREAMS = 0x3
    INITIAL_WINDOW_SIZE = 0x4
    MAX_FRAME_SIZE = 0x5
    MAX_HEADER_LIST_SIZE = 0x6


END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
PADDED = 0x8
PRIORITY_FLAG = 0x20


Code = TypeVar("Code", bound=IntEnum)


class ProtocolFailure(Exception, Generic[Code]):
    """Ends a connection, a stream or a gRPC call with the protocol's `code`; `reason` is
    the text that goes with it (GOAWAY debug data, grpc-message)."""

    def __init__(self, code: Code, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class ConnectionFailure(ProtocolFailure[ErrorCode]):
    """A connection error (RFC 9113 §5.4.1): GOAWAY with `code`, then close."""


class StreamFailure(ProtocolFailure[ErrorCode]):
    """A stream error (§5.4.2): RST_STREAM with `code`; the connection goes on."""


def frame(kind: FrameType, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    return (
        len(payload).to_bytes(3, "big")
        + bytes((kind, flags))
        + stream_id.to_bytes(4, "big")
        + payload
    )


def settings_frame(values: dict[Setting, int]) -> bytes:
    payload = b"".join(
        key.to_bytes(2, "big") + value.to_bytes(4, "big") for key, value in values.items()
    )
    return frame(FrameType.SETTINGS, 0, 0, payload)


def window_update(stream_id: int, increment: int) -> bytes:
    return frame(FrameType.WINDOW_UPDATE, 0, stream_id, increment.to_bytes(4, "big"))


def rst_stream(stream_id: int, code: ErrorCode) -> bytes:
    return frame(FrameType.RST_STREAM, 0, stream_id, code.to_bytes(4, "big"))


def goaway(last_stream_id: int, code: ErrorCode, reason: str = "") -> bytes:
    payload = last_stream_id.to_bytes(4, "big") + code.to_bytes(4, "big") + reason.encode()[:256]
    return frame(FrameType.GOAWAY, 0, 0, payload)


def hpack_integer(value: int, prefix_bits: int, first_byte: int = 0) -> bytes:
    """An HPACK integer (RFC 7541 §5.1) with `prefix_bits` in the first byte."""
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes((first_byte | value,))
    out = bytearray((first_byte | limit,))
    value -= limit
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_string(text: bytes) -> bytes:
    return hpack_integer(len(text), 7) + text


def literal(name: bytes, value: bytes) -> bytes:
    """A header field as a literal without indexing, new name (§6.2.2): no table state."""
    return b"\x00" + hpack_string(name) + hpack_string(value)


def literal_with_static_name(index: int, value: bytes) -> bytes:
    """A literal without indexing whose name is static-table entry `index`."""
    return hpack_integer(index, 4) + hpack_string(value)


STATUS_200 = b"\x88"  # static table entry 8, `:status: 200`
CONTENT_TYPE_INDEX = 31  # static table entry 31, `content-type`
TABLE_SIZE_ZERO = b"\x20"  # dynamic table size update to 0 (§6.3)


def status_block(status: int, content_type: bytes) -> bytes:
    head = STATUS_200 if status == 200 else literal_with_static_name(8, str(status).encode())
    return head + literal_with_static_name(CONTENT_TYPE_INDEX, content_type)


def padding_stripped(flags: int, payload: bytes) -> bytes:
    """A DATA or HEADERS payload without its padding (PADDED flag)."""
    if not flags & PADDED:
        return payload
    if not payload or payload[0] >= len(payload):
        raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "padding longer than the frame")
    return payload[1 : len(payload) - payload[0]]


def header_fragment(flags: int, payload: bytes) -> bytes:
    """A HEADERS frame's header block fragment: without padding and priority fields."""
    fragment = padding_stripped(flags, payload)
    if flags & PRIORITY_FLAG:
        if len(fragment) < 5:
            raise ConnectionFailure(ErrorCode.FRAME_SIZE_ERROR, "HEADERS too short for priority")
        fragment = fragment[5:]
    return fragment


def peer_settings(payload: bytes) -> dict[int, int]:
    """A SETTINGS frame's values, checked (§6.5.2); unknown settings are kept and ignored."""
    if len(payload) % 6:
        raise ConnectionFailure(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS is a multiple of 6 bytes")
    values = {
        int.from_bytes(payload[i : i + 2], "big"): int.from_bytes(payload[i + 2 : i + 6], "big")
        for i in range(0, len(payload), 6)
    }
    if values.get(Setting.ENABLE_PUSH, 0) > 1:
        raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "ENABLE_PUSH must be 0 or 1")
    if values.get(Setting.INITIAL_WINDOW_SIZE, 0) > MAX_WINDOW:
        raise ConnectionFailure(ErrorCode.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too large")
    max_frame = values.get(Setting.MAX_FRAME_SIZE, DEFAULT_MAX_FRAME)
    if not DEFAULT_MAX_FRAME <= max_frame <= LARGEST_MAX_FRAME:
        raise ConnectionFailure(ErrorCode.PROTOCOL_ERROR, "MAX_FRAME_SIZE out of range")
    return values
