"""The limit store's connections pack commands in C, to the very bytes redis-py would send; each
command is bounded in time, and a burst waits for a connection."""

from __future__ import annotations

import asyncio
import secrets
import time

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from infrastructure.billing.redis_pool import limit_client, limit_pool

COMMANDS = [
    ("EVALSHA", "a" * 40, 2, "ns:budget:key:k1:day:2026-11-23", "ns:rate:key:k1:requests", 0),
    ("EVALSHA", "b" * 40, 0, 2**70, -5, "é ünïcode", b"\x00raw bytes"),
    ("SET", "k", 1.5),  # a float: redis-py's own packer
    ("CONFIG GET", "maxmemory"),  # a command name of two words: redis-py's own packer
    ("GET", "x" * 100_000),  # a large argument
]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_same_bytes_as_redis_py(command: tuple[object, ...]) -> None:
    pool = limit_pool("redis://127.0.0.1:6379/0", timeout=1)
    ours = pool.connection_class()
    theirs = aioredis.Connection()
    assert b"".join(ours.pack_command(*command)) == b"".join(theirs.pack_command(*command))


def test_the_scheme_still_picks_the_connection_kind() -> None:
    pool = limit_pool("unix:///tmp/redis.sock", timeout=1)
    assert issubclass(pool.connection_class, aioredis.UnixDomainSocketConnection)


async def test_a_redis_that_stops_answering_times_out() -> None:
    async def accept_and_say_nothing(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.read(1 << 16)
        await asyncio.sleep(30)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = limit_client(f"redis://127.0.0.1:{port}/0", max_connections=2, timeout=0.3)
    try:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await client.get("anything")
        assert time.monotonic() - started < 2
    finally:
        await client.aclose()
        server.close()


@pytest.mark.redis
async def test_a_burst_waits_for_a_free_connection_instead_of_failing() -> None:
    name = "limit-pool-" + secrets.token_hex(4)
    client = limit_client(
        f"redis://127.0.0.1:6379/0?client_name={name}", max_connections=3, timeout=5
    )
    observer = aioredis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        # 20 commands that each hold a connection for 0.1 s
        answers = await asyncio.gather(*(client.blpop([f"{name}:empty"], 0.1) for _ in range(20)))
        assert answers == [None] * 20
        ours = [c for c in await observer.client_list() if c.get("name") == name]
        assert 1 <= len(ours) <= 3
    finally:
        await client.aclose()
        await observer.aclose()


@pytest.mark.redis
async def test_a_script_runs_after_redis_forgot_it_and_after_its_connection_was_killed() -> None:
    name = "limit-script-" + secrets.token_hex(4)
    client = limit_client(
        f"redis://127.0.0.1:6379/0?client_name={name}", max_connections=2, timeout=5
    )
    observer = aioredis.Redis.from_url("redis://127.0.0.1:6379/0")
    script = client.register_script("return {KEYS[1], ARGV[1] + 1}")
    try:
        assert await client.run_script(script, [f"{name}:k"], [41]) == [f"{name}:k".encode(), 42]
        await observer.script_flush()  # as after a restart: NOSCRIPT, loaded again
        assert await client.run_script(script, [f"{name}:k"], [1]) == [f"{name}:k".encode(), 2]
        ours = [c["id"] for c in await observer.client_list() if c.get("name") == name]
        assert len(ours) == 1
        # the pooled connection is closed under it: one more try, on a new one
        assert await observer.client_kill_filter(_id=ours[0]) == 1
        assert await client.run_script(script, [f"{name}:k"], [2]) == [f"{name}:k".encode(), 3]
        with pytest.raises(redis.exceptions.ResponseError):  # an error answer is raised as one
            await client.run_script(
                client.register_script("return redis.error_reply('no')"), [], []
            )
        assert await client.run_script(script, [f"{name}:k"], [3]) == [f"{name}:k".encode(), 4]
    finally:
        await client.aclose()
        await observer.aclose()
