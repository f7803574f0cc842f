"""A raw HTTP/2 client over a socket, to send what stock clients never do (and good requests
beside): hand-built frames in, every frame the server writes out, decoded."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import hpack

from serving.http2_frames import (
    END_HEADERS,
    END_STREAM,
    PREFACE,
    FrameType,
    Setting,
    frame,
    settings_frame,
)

GRPC_HEADERS = [("content-type", "application/grpc"), ("te", "trailers")]


@dataclass(frozen=True)
class Frame:
    kind: int
    flags: int
    stream_id: int
    payload: bytes


@dataclass
class RawH2:
    """One connection to 127.0.0.1:`port`; `read` returns what the server sent."""

    port: int
    sock: socket.socket = field(init=False)
    encoder: hpack.Encoder = field(default_factory=hpack.Encoder)
    decoder: hpack.Decoder = field(default_factory=hpack.Decoder)
    inbox: bytes = b""
    closed: bool = False

    def __post_init__(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def start(self, settings: dict[Setting, int] | None = None) -> None:
        self.send(PREFACE + settings_frame(settings or {}))

    def header_block(self, path: str, extra: list[tuple[str, str]] | None = None) -> bytes:
        pseudo = [(":method", "POST"), (":scheme", "http"), (":path", path),
                  (":authority", f"127.0.0.1:{self.port}")]  # fmt: skip
        return self.encoder.encode([*pseudo, *GRPC_HEADERS, *(extra or [])])

    def request(
        self, stream_id: int, path: str, message: bytes | None = None, **extra: str
    ) -> None:
        """HEADERS (+ a DATA frame with `message` gRPC-framed), ending the stream."""
        block = self.header_block(path, [(k.replace("_", "-"), v) for k, v in extra.items()])
        flags = END_HEADERS | (END_STREAM if message is None else 0)
        out = frame(FrameType.HEADERS, flags, stream_id, block)
        if message is not None:
            out += frame(FrameType.DATA, END_STREAM, stream_id, grpc_framed(message))
        self.send(out)

    def read(self, until: type[FrameType] | FrameType | None = None, wait: float = 5.0,
             stream_id: int | None = None) -> list[Frame]:  # fmt: skip
        """Frames until one of kind `until` (on `stream_id` if given), the close, or `wait` s."""
        self.sock.settimeout(wait)
        frames: list[Frame] = []
        while True:
            while (got := next_frame(self.inbox)) is not None:
                self.inbox = self.inbox[9 + len(got.payload) :]
                frames.append(got)
                if got.kind == until and stream_id in (None, got.stream_id):
                    return frames
            try:
                chunk = self.sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                return frames
            if not chunk:
                self.closed = True
                return frames
            self.inbox += chunk

    def headers_of(self, frames: list[Frame], stream_id: int) -> list[dict[str, str]]:
        """Each header block the server sent on `stream_id`, decoded (in order)."""
        return [
            {str(name): str(value) for name, value in self.decoder.decode(f.payload)}
            for f in frames
            if f.kind == FrameType.HEADERS and f.stream_id == stream_id
        ]


def next_frame(buffer: bytes) -> Frame | None:
    """The frame at the start of `buffer`, or None if it is not all there."""
    if len(buffer) < 9 or len(buffer) < 9 + (length := int.from_bytes(buffer[:3], "big")):
        return None
    stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
    return Frame(buffer[3], buffer[4], stream, buffer[9 : 9 + length])


def frames_of(buffer: bytes) -> list[Frame]:
    """Every whole frame in `buffer`."""
    frames: list[Frame] = []
    while (got := next_frame(buffer)) is not None:
        frames.append(got)
        buffer = buffer[9 + len(got.payload) :]
    return frames


def grpc_framed(message: bytes, compressed: int = 0) -> bytes:
    return bytes((compressed,)) + len(message).to_bytes(4, "big") + message


def goaway_code(frames: list[Frame]) -> int | None:
    for got in frames:
        if got.kind == FrameType.GOAWAY:
            return int.from_bytes(got.payload[4:8], "big")
    return None


def reset_codes(frames: list[Frame]) -> dict[int, int]:
    return {
        f.stream_id: int.from_bytes(f.payload, "big")
        for f in frames
        if f.kind == FrameType.RST_STREAM
    }


def data_of(frames: list[Frame], stream_id: int) -> bytes:
    return b"".join(
        f.payload for f in frames if f.kind == FrameType.DATA and f.stream_id == stream_id
    )
