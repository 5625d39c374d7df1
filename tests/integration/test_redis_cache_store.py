"""The response cache in Redis: entries under the namespace with their time to live, at most
`max_entries` of them (the oldest go first), and a Redis that does not answer is a miss."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from infrastructure.billing.redis_pool import limit_client
from infrastructure.cache.redis_store import RedisCacheStore
from tests.support.services import REDIS_URL

pytestmark = pytest.mark.redis


async def test_entries_are_bounded_oldest_first_and_expire() -> None:
    client = limit_client(REDIS_URL, max_connections=4, timeout=5)
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    store = RedisCacheStore(client, namespace, max_entries=3)
    try:
        for name in "abcd":
            await store.put(name, name.encode() * 3, 60)
        assert await store.get("a") is None  # the oldest went
        assert [await store.get(name) for name in "bcd"] == [b"bbb", b"ccc", b"ddd"]
        assert await client.zcard(f"{namespace}:cache:index") == 3
        ttl = await client.ttl(f"{namespace}:cache:b")
        assert 0 < ttl <= 60
    finally:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_a_redis_that_does_not_answer_is_a_miss() -> None:
    client = limit_client("redis://127.0.0.1:1", max_connections=1, timeout=0.5)
    store = RedisCacheStore(client, "nowhere", max_entries=3)
    await store.put("a", b"x", 60)  # never raises
    assert await store.get("a") is None
    await client.aclose()


async def test_a_burst_of_stores_waits_for_the_clients_connections() -> None:
    """Many more stores at once than the client has connections: each waits its turn and
    lands, none opens a connection of its own; past the bound the oldest still go."""
    client = limit_client(REDIS_URL, max_connections=2, timeout=5)
    namespace = f"fluxrouter-test-{secrets.token_hex(4)}"
    store = RedisCacheStore(client, namespace, max_entries=150)
    try:
        await asyncio.gather(*(store.put(f"k{i}", b"v", 60) for i in range(200)))
        assert await client.zcard(f"{namespace}:cache:index") == 150
        found = [await store.get(f"k{i}") for i in range(200)]
        assert sum(value == b"v" for value in found) == 150
        pool = client.connection_pool
        opened = len(pool._available_connections) + len(pool._in_use_connections)  # type: ignore[attr-defined]
        assert 1 <= opened <= 2
    finally:
        keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
