"""HPACK decoding of request header blocks, with the blocks that change nothing remembered.

A client sends the same header block for every call of the same method once its headers sit
in the dynamic table (all indexed fields, or literals it never indexes), and `hpack`'s pure
Python decoder costs tens of µs per block. A block's decoding depends only on its bytes and
the dynamic table; so a block whose decoding left the table as it was is remembered until
the table next changes (an insertion, or a resize), and then decoded again.
"""

from __future__ import annotations

import hpack
from hpack.table import HeaderTable

Headers = list[tuple[bytes, bytes]]
MAX_REMEMBERED = 64  # blocks per connection


class WatchedTable(HeaderTable):
    """The dynamic table, counting its insertions."""

    def __init__(self) -> None:
        super().__init__()
        self.insertions = 0

    def add(self, name: bytes, value: bytes) -> None:
        self.insertions += 1
        super().add(name, value)


class HeaderDecoder:
    """One connection's HPACK decoder (hpack's, which raises its HPACKError on bad input)."""

    def __init__(self, max_header_list_size: int) -> None:
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = max_header_list_size
        self.table = self.decoder.header_table = WatchedTable()
        self.remembered: dict[bytes, Headers] = {}

    def table_state(self) -> tuple[int, int, int]:
        return self.table.insertions, len(self.table.dynamic_entries), self.table.maxsize

    def decode(self, block: bytes) -> Headers:
        """The header list of `block` (shared when remembered: callers do not change it)."""
        headers = self.remembered.get(block)
        if headers is not None:
            return headers
        before = self.table_state()
        headers = list(self.decoder.decode(block, raw=True))
        if self.table_state() != before:
            self.remembered.clear()
        elif len(self.remembered) < MAX_REMEMBERED:
            self.remembered[block] = headers
        return headers
