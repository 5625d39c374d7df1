"""The semantic cache's index in Redis: what one replica stores, another finds (its mirror
catches up on each lookup); partitions stay apart; past `max_partitions`, the least recently
written go; a Redis that does not answer is a miss, never an error."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import numpy as np
import pytest
import redis.asyncio as aioredis

from infrastructure.cache.semantic_redis import RedisSemanticIndex
from tests.support.services import REDIS_URL

pytestmark = pytest.mark.redis


def vector(*head: float) -> bytes:
    array = np.zeros(256, dtype=np.float32)
    array[: len(head)] = head
    return (array / np.linalg.norm(array)).tobytes()


@pytest.fixture
async def client() -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(REDIS_URL)
    yield client
    await client.aclose()


def replica(client: aioredis.Redis, namespace: str, **bounds: int) -> RedisSemanticIndex:
    limits = {"max_entries": 1000, "max_entries_per_partition": 100, "max_partitions": 100}
    limits.update(bounds)
    return RedisSemanticIndex(client, namespace, **limits)


async def test_what_one_replica_stores_another_finds(client: aioredis.Redis) -> None:
    namespace = f"fr-test-{secrets.token_hex(4)}"
    one, two = replica(client, namespace), replica(client, namespace)
    assert await two.nearest("p", vector(1)) is None
    await one.add("p", vector(1, 0.1), "first", 60)
    found = await two.nearest("p", vector(1))
    assert found is not None
    assert found[0] == "first"
    assert found[1] == pytest.approx(float(np.frombuffer(vector(1, 0.1), np.float32)[0]))
    await two.add("p", vector(0, 1), "second", 60)  # caught up by the first on its next lookup
    assert (await one.nearest("p", vector(0, 1)) or ("", 0))[0] == "second"
    assert (await one.nearest("p", vector(1)) or ("", 0))[0] == "first"
    assert await one.nearest("q", vector(1)) is None  # another partition
    await client.delete(*[name async for name in client.scan_iter(f"{namespace}:*")])


async def test_past_max_partitions_the_oldest_go(client: aioredis.Redis) -> None:
    namespace = f"fr-test-{secrets.token_hex(4)}"
    writer = replica(client, namespace, max_partitions=2)
    for name in ("a", "b", "c"):
        await writer.add(name, vector(1), name, 60)
    assert await replica(client, namespace).nearest("a", vector(1)) is None
    assert (await replica(client, namespace).nearest("c", vector(1)) or ("", 0))[0] == "c"
    await client.delete(*[name async for name in client.scan_iter(f"{namespace}:*")])


async def test_a_redis_that_does_not_answer_is_a_miss() -> None:
    gone = aioredis.from_url("redis://127.0.0.1:1", socket_connect_timeout=0.2)
    index = replica(gone, "fr-test")
    await index.add("p", vector(1), "k", 60)
    assert await index.nearest("p", vector(1)) is None
    await gone.aclose()
