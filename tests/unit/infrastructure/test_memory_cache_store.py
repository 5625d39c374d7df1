"""The in-memory response cache: bounded by bytes, least recently used first out, an entry past
its time to live never answered."""

from __future__ import annotations

from infrastructure.cache.memory_store import ENTRY_OVERHEAD, MemoryCacheStore

ENTRY = 10 + ENTRY_OVERHEAD  # a one-letter key and 9 bytes


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_bounded_by_bytes_least_recently_used_first() -> None:
    store = MemoryCacheStore(max_bytes=3 * ENTRY)
    await store.put("a", b"x" * 9, 60)
    await store.put("b", b"x" * 9, 60)
    await store.put("c", b"x" * 9, 60)
    assert await store.get("a") is not None  # a is now the most recently used
    await store.put("d", b"x" * 9, 60)
    assert await store.get("b") is None
    assert [await store.get(name) is not None for name in "acd"] == [True, True, True]
    assert store.size == 3 * ENTRY
    await store.put("huge", b"x" * 3 * ENTRY, 60)  # larger than the whole store: not kept
    assert await store.get("huge") is None
    assert len(store) == 3


async def test_an_expired_entry_is_a_miss_and_frees_its_room() -> None:
    clock = Clock()
    store = MemoryCacheStore(max_bytes=1000, clock=clock)
    await store.put("a", b"answer", 10)
    clock.now = 9.9
    assert await store.get("a") == b"answer"
    clock.now = 10
    assert await store.get("a") is None
    assert store.size == 0
    await store.put("a", b"one", 10)
    await store.put("a", b"two", 10)  # replaced, counted once
    assert await store.get("a") == b"two"
    assert store.size == 4 + ENTRY_OVERHEAD
