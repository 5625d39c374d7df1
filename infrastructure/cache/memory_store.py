"""The response cache in this process's memory: a least-recently-used map bounded by bytes.

The embedded shape runs one process per worker, and a hit must cost less than any upstream
call: a dict lookup does, where a SQLite read would add a thread hop and a disk write per
stored answer. Entries do not outlive the process (a cache may forget)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

ENTRY_OVERHEAD = 300
"""What an entry costs beyond its key's and value's bytes: the map's node, the tuple, the
objects' headers and the expiry (measured: about 295 bytes on CPython 3.11, 64-bit)."""


class MemoryCacheStore:
    """At most `max_bytes` of stored answers (their keys, values and `ENTRY_OVERHEAD` each):
    storing past it evicts the least recently used first, so that the process's memory for the
    cache stays near `max_bytes`. An entry past its time to live is dropped when read."""

    def __init__(self, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
        self.size = 0

    async def get(self, key: str) -> bytes | None:
        entries = self._entries
        found = entries.get(key)
        if found is None:
            return None
        value, expires = found
        if self._clock() >= expires:
            self._drop(key)
            return None
        entries.move_to_end(key)
        return value

    async def put(self, key: str, value: bytes, ttl_seconds: int) -> None:
        weight = len(key) + len(value) + ENTRY_OVERHEAD
        if weight > self._max:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (value, self._clock() + ttl_seconds)
        self.size += weight
        while self.size > self._max:
            self._drop(next(iter(self._entries)))

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: str) -> None:
        value, _ = self._entries.pop(key)
        self.size -= len(key) + len(value) + ENTRY_OVERHEAD
