"""The limit store's Redis connection pool, with commands packed in C.

Every admission and settlement is one EVALSHA of a few dozen keys and arguments (a batch of
settlements, hundreds). redis-py's asyncio connection packs a command in Python and joins its
buffer again for every argument; hiredis (already the reply parser) packs the same bytes in C,
several times faster, and linearly. Commands with an argument hiredis might write differently
(a float, a bool, a memoryview) or a command name of several words keep redis-py's packer.
"""

from __future__ import annotations

from typing import Any, cast

import hiredis
import redis.asyncio as aioredis


class _HiredisPacking:
    def pack_command(self, *args: Any) -> list[bytes]:
        name = args[0]
        if (isinstance(name, (str, bytes)) and " " not in str(name)) and all(
            type(arg) in (str, bytes, int) for arg in args
        ):
            return [hiredis.pack_command(args)]
        packed: list[bytes] = super().pack_command(*args)  # type: ignore[misc]
        return packed


def blocking_pool(
    url: str, *, max_connections: int, timeout: float
) -> aioredis.BlockingConnectionPool:
    """A pool whose callers wait (up to `timeout` s) for a free connection under a burst."""
    pool = aioredis.BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=timeout
    )
    base = pool.connection_class
    pool.connection_class = cast(Any, type(f"Hiredis{base.__name__}", (_HiredisPacking, base), {}))
    return pool
