"""The semantic cache's index in this process's memory (the embedded shape): a `VectorBlock`
per partition, at most `max_entries` vectors in all (past it, the least recently used
partitions go) and `max_entries_per_partition` in one (past it, its oldest go)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infrastructure.cache.vector_block import VectorBlock


class MemorySemanticIndex:
    def __init__(
        self,
        max_entries: int,
        max_entries_per_partition: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._max = max_entries
        self._per_partition = min(max_entries_per_partition, max_entries)
        self._clock = clock
        self._blocks: OrderedDict[str, VectorBlock] = OrderedDict()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    async def nearest(self, partition: str, vector: bytes) -> tuple[str, float] | None:
        block = self._blocks.get(partition)
        if block is None:
            return None
        self._blocks.move_to_end(partition)
        return block.nearest(vector, self._clock())

    async def add(self, partition: str, vector: bytes, key: str, ttl_seconds: int) -> None:
        block = self._blocks.get(partition)
        if block is None:
            block = self._blocks[partition] = new_block(self._per_partition)
        self._blocks.move_to_end(partition)
        before = len(block)
        block.add(vector, key, self._clock() + ttl_seconds)
        self._count += len(block) - before
        while self._count > self._max and len(self._blocks) > 1:
            _, dropped = self._blocks.popitem(last=False)
            self._count -= len(dropped)


def new_block(capacity: int) -> VectorBlock:
    """A partition's block (numpy loads with the first: a gateway starts as fast with the
    semantic cache on)."""
    from infrastructure.cache.vector_block import VectorBlock

    return VectorBlock(capacity)
