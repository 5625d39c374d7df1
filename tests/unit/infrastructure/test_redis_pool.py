"""The limit store's connections pack commands in C, to the very bytes redis-py would send."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from infrastructure.billing.redis_pool import blocking_pool

COMMANDS = [
    ("EVALSHA", "a" * 40, 2, "ns:budget:key:k1:day:2026-11-23", "ns:rate:key:k1:requests", 0),
    ("EVALSHA", "b" * 40, 0, 2**70, -5, "é ünïcode", b"\x00raw bytes"),
    ("SET", "k", 1.5),  # a float: redis-py's own packer
    ("CONFIG GET", "maxmemory"),  # a command name of two words: redis-py's own packer
    ("GET", "x" * 100_000),  # a large argument
]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_same_bytes_as_redis_py(command: tuple[object, ...]) -> None:
    pool = blocking_pool("redis://127.0.0.1:6379/0", max_connections=1, timeout=1)
    ours = pool.connection_class()
    theirs = aioredis.Connection()
    assert b"".join(ours.pack_command(*command)) == b"".join(theirs.pack_command(*command))


def test_the_scheme_still_picks_the_connection_kind() -> None:
    pool = blocking_pool("unix:///tmp/redis.sock", max_connections=1, timeout=1)
    assert issubclass(pool.connection_class, aioredis.UnixDomainSocketConnection)
