"""Large JSON `data` arrays parsed straight into numpy, a slice at a time.

orjson turns a JSON array of N numbers into N Python objects (~32 bytes each): a 64 MiB body
becomes ~300 MiB of lists before numpy sees it, parsed in one call that holds the GIL for
seconds. Here every flat array value of a `"data"` key over LIFT_MIN_BYTES is cut out of the
document before orjson parses the rest, and then parsed by orjson one slice (~1 MiB, cut at a
comma) at a time, each slice cast into the one preallocated array of the tensor's dtype. The
values are those orjson would give (it parses every slice), so answers stay those of the
whole-document parse; only an invalid document's error position is computed, not orjson's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson

from serving.errors import BadRequest

LIFT_MIN_BYTES = 64 * 1024
SLICE_BYTES = 1024 * 1024
DATA_KEY = re.compile(rb'"data"\s*:\s*\[')
NON_SPACE = re.compile(rb"\S")
NESTED = (b"[", b"{", b'"')
PLACEHOLDER = "\x00lifted data {}"
Buffer = bytes | bytearray


@dataclass(frozen=True)
class LiftedArray:
    """A flat JSON array left unparsed in `buffer[start:end]` (between its brackets)."""

    buffer: Buffer
    start: int
    end: int

    def element_count(self) -> int:
        if NON_SPACE.search(self.buffer, self.start, self.end) is None:
            return 0
        return sum(self.buffer.count(b",", *window) for window in windows(self.start, self.end)) + 1

    def slices(self) -> Iterator[tuple[int, int]]:
        """(start, end) of each slice of whole values, cut at commas."""
        start = self.start
        while start < self.end:
            end = self.buffer.find(b",", min(start + SLICE_BYTES, self.end), self.end)
            end = self.end if end < 0 else end
            yield start, end
            start = end + 1
        if self.buffer[self.end - 1 : self.end] == b",":
            yield self.end, self.end  # a trailing comma: an empty slice, refused below

    def holds_bool(self, start: int, end: int) -> bool:
        """Whether a valid slice holds `true` or `false` (no strings here: no other t or f)."""
        return self.buffer.find(b"t", start, end) >= 0 or self.buffer.find(b"f", start, end) >= 0

    def values(self, start: int, end: int, single: bool) -> list[Any]:
        """The values of one slice, as orjson parses them."""
        piece = self.buffer[start:end]
        if not single and not piece.strip():
            raise invalid_json("a value is missing between commas", self.buffer, start)
        try:
            values = orjson.loads(b"[" + piece + b"]")
        except orjson.JSONDecodeError as exc:
            raise invalid_json(exc.msg, self.buffer, start + exc.pos - 1) from None
        return list(values)

    def to_array(
        self, dtype: np.dtype[Any], check: Callable[[np.ndarray, bool], None]
    ) -> np.ndarray:
        """The values cast to `dtype`; each slice goes through `check(values, with_bools)`
        first (`with_bools`: booleans among numbers, which numpy turned into numbers)."""
        array = np.empty(self.element_count(), dtype)
        if not array.size:
            return array
        filled = 0
        single = self.end - self.start <= SLICE_BYTES
        for start, end in self.slices():
            part = np.asarray(self.values(start, end, single))
            check(part, part.dtype.kind != "b" and self.holds_bool(start, end))
            if filled + part.size > array.size:
                raise invalid_json("a value is missing", self.buffer, end)
            array[filled : filled + part.size] = part
            filled += part.size
        return array


def invalid_json(message: str, buffer: Buffer, position: int) -> BadRequest:
    """orjson's error text, with the line, column and char of `position` in `buffer`."""
    line = buffer.count(b"\n", 0, position) + 1
    column = position - buffer.rfind(b"\n", 0, position)
    return BadRequest(
        f"request body is not valid JSON: {message}: line {line} column {column} (char {position})"
    )


def windows(start: int, end: int) -> Iterator[tuple[int, int]]:
    """[start, end) in SLICE_BYTES windows: scans of megabytes let other threads in between."""
    return ((low, min(low + SLICE_BYTES, end)) for low in range(start, end, SLICE_BYTES))


def flat_array_end(buffer: Buffer, start: int) -> int:
    """The index of the `]` closing the array opened just before `start`, or -1 when the
    array holds arrays, objects or strings (those go through orjson whole)."""
    for low, high in windows(start, len(buffer)):
        end = buffer.find(b"]", low, high)
        if any(buffer.find(mark, low, high if end < 0 else end) >= 0 for mark in NESTED):
            return -1
        if end >= 0:
            return end
    return -1


def lift_data_arrays(buffer: Buffer) -> tuple[bytes, list[LiftedArray]]:
    """The document with each large flat `"data"` array replaced by a placeholder string,
    and those arrays (in order of appearance)."""
    parts: list[bytes] = []
    lifted: list[LiftedArray] = []
    position = 0
    match = DATA_KEY.search(buffer)
    while match is not None:
        start = match.end()
        end = flat_array_end(buffer, start)
        if end - start >= LIFT_MIN_BYTES:  # never when end is -1
            placeholder = orjson.dumps(PLACEHOLDER.format(len(lifted)))
            parts += [bytes(buffer[position : start - 1]), placeholder]
            lifted.append(LiftedArray(buffer, start, end))
            position = end + 1
        match = DATA_KEY.search(buffer, max(start, position))
    if not lifted:
        return bytes(buffer), []
    return b"".join([*parts, bytes(buffer[position:])]), lifted


def parse_document(buffer: Buffer) -> tuple[Any, bool]:
    """The JSON document, large flat `"data"` arrays left as LiftedArray values, and whether
    the rest holds a `true` or `false` at all (when not, no list needs scanning for one)."""
    document, lifted = lift_data_arrays(buffer)
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError as exc:
        if not lifted:
            raise BadRequest(f"request body is not valid JSON: {exc}") from None
        raise invalid_json(exc.msg, buffer, original_position(exc.pos, lifted)) from None
    if lifted:
        put_back(parsed, {PLACEHOLDER.format(i): array for i, array in enumerate(lifted)})
    return parsed, b"true" in document or b"false" in document


def original_position(position: int, lifted: list[LiftedArray]) -> int:
    """Where `position` in the document with placeholders lies in the original buffer."""
    shift = 0
    for index, array in enumerate(lifted):
        if position < array.start - 1 - shift:
            break
        shift += array.end - array.start + 2 - len(orjson.dumps(PLACEHOLDER.format(index)))
    return position + shift


def put_back(document: Any, arrays: dict[str, LiftedArray]) -> None:
    """Swap the placeholders under `inputs[*].data` for their LiftedArray (a placeholder
    anywhere else, in a key the decoder ignores, stays a string)."""
    inputs = document.get("inputs") if isinstance(document, dict) else None
    for item in inputs if isinstance(inputs, list) else []:
        data = item.get("data") if isinstance(item, dict) else None
        if isinstance(data, str) and data in arrays:
            item["data"] = arrays[data]
