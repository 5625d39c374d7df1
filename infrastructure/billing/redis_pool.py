"""The limit store's Redis client: commands packed in C, and one timer per command.

Every admission and settlement is one EVALSHA of a few dozen keys and arguments (a batch of
settlements, hundreds). redis-py's asyncio connection packs a command in Python and joins its
buffer again for every argument; hiredis (already the reply parser) packs the same bytes in C,
several times faster, and linearly. Commands with an argument hiredis might write differently
(a float, a bool, a memoryview) or a command name of several words keep redis-py's packer.

The two scripts every request runs (an admission, a settlement) go below redis-py's client
layer, which spends more CPU on retries, observability and bookkeeping than the command costs:
`run_script` takes a connection, writes the packed EVALSHA and reads the reply, loading the
script on NOSCRIPT and trying once more on a connection that turned out to be closed (a
restarted Redis), as redis-py would. Its connections are the client's own, kept idle in a list:
redis-py's pool takes a lock twice, records four observability counters, dispatches an event
and polls the socket for stray data for every connection it lends, where a connection this
client gets back has read exactly its one reply (one cut off mid-command is closed instead).

redis-py bounds a command with its socket timeout by running the write in a task of its own
(`asyncio.wait_for`) and the read under another timer, and its blocking pool takes a condition
and a third timer for every connection it lends. Here a semaphore caps the commands in flight
(a burst waits for a free connection rather than failing, as with the blocking pool; the store
batches the calls that meet, so a handful of connections serve any load) and one
`asyncio.timeout` bounds the whole command, the wait included: the same guarantees for about a
fifth less CPU per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, cast

import hiredis
import redis.asyncio as aioredis
import redis.exceptions
from redis.commands.core import AsyncScript


class _HiredisPacking:
    def pack_command(self, *args: Any) -> list[bytes]:
        name = args[0]
        if (isinstance(name, (str, bytes)) and " " not in str(name)) and all(
            type(arg) in (str, bytes, int) for arg in args
        ):
            return [hiredis.pack_command(args)]
        packed: list[bytes] = super().pack_command(*args)  # type: ignore[misc]
        return packed


class BoundedRedis(aioredis.Redis):
    """At most `slots` commands in flight (one more waits for a free connection), and every
    command, its wait included, ends within `command_timeout` seconds (a Redis that stops
    answering raises TimeoutError, and the connection is dropped)."""

    command_timeout: float = 5.0
    slots: asyncio.Semaphore
    _idle: list[aioredis.Connection]

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        async with asyncio.timeout(self.command_timeout), self.slots:
            return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]

    async def run_script(
        self, script: AsyncScript, keys: Sequence[str], args: Sequence[str | int]
    ) -> Any:
        """EVALSHA of a registered script, as `script(keys=..., args=...)` answers it."""
        command = ("EVALSHA", script.sha, len(keys), *keys, *args)
        async with asyncio.timeout(self.command_timeout), self.slots:
            try:
                return await self._on_a_connection(command, script)
            except redis.exceptions.ConnectionError:  # closed under it: once more, anew
                return await self._on_a_connection(command, script)

    async def _on_a_connection(self, command: tuple[str | int, ...], script: AsyncScript) -> Any:
        connection = self._idle.pop() if self._idle else self._new_connection()
        try:
            if not connection.is_connected:
                await connection.connect()  # type: ignore[no-untyped-call]
            try:
                return await _call(connection, command)
            except redis.exceptions.NoScriptError:
                await _call(connection, ("SCRIPT", "LOAD", script.script))
                return await _call(connection, command)
        except redis.exceptions.ResponseError:
            raise  # an answer: the connection is as good as before
        except BaseException:  # cut off mid-command: what it would read next is unknown
            await connection.disconnect(nowait=True)
            raise
        finally:
            self._idle.append(connection)  # a closed one connects again when next taken

    def _new_connection(self) -> aioredis.Connection:
        return cast(aioredis.Connection, self.connection_pool.make_connection())  # type: ignore[no-untyped-call]

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        idle, self._idle = self._idle, []
        await asyncio.gather(*(connection.disconnect() for connection in idle))
        await super().aclose(close_connection_pool)


async def _call(connection: aioredis.Connection, command: tuple[Any, ...]) -> Any:
    await connection.send_packed_command([hiredis.pack_command(command)], check_health=False)
    return await connection.read_response()


def limit_pool(url: str, *, timeout: float) -> aioredis.ConnectionPool:
    """Connections that pack in C; no socket timeout of their own (the client's one timer
    bounds each command), `timeout` to connect. The client caps how many there are."""
    pool = aioredis.ConnectionPool.from_url(
        url, socket_timeout=None, socket_connect_timeout=timeout
    )
    base = pool.connection_class
    pool.connection_class = cast(Any, type(f"Hiredis{base.__name__}", (_HiredisPacking, base), {}))
    return pool


def limit_client(url: str, *, max_connections: int, timeout: float) -> aioredis.Redis:
    """The client of the limit store: `limit_pool`, at most `max_connections` commands in
    flight, each bounded by `timeout`."""
    client = BoundedRedis(connection_pool=limit_pool(url, timeout=timeout))
    client.command_timeout = timeout
    client.slots = asyncio.Semaphore(max_connections)
    client._idle = []
    return client
