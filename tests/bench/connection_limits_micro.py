"""The connection limits' cost in CPU time, without the network: uvicorn's protocol with and
without them (`GuardedHttpToolsProtocol`, `CombinedWritesHttpToolsProtocol`) fed the same
request straight from memory, 20,000 times on one kept-alive connection and 20,000 times on a
new connection each, a bare app answering. The process's CPU time, the best of 7 turns each, so
that a busy machine's other work is counted as little as may be.

Usage: ``python -m tests.bench.connection_limits_micro``
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import uvloop
from uvicorn.config import Config
from uvicorn.server import ServerState

from interfaces.http import connection_limits
from interfaces.http.combined_writes import CombinedWritesHttpToolsProtocol
from interfaces.http.guarded_protocol import GuardedHttpToolsProtocol

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nUser-Agent: wrk\r\n\r\n"
TIMES = 20_000
TURNS = 7


async def app(scope: Any, receive: Any, send: Any) -> None:
    head = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    await send({"type": "http.response.body", "body": b"ok"})


class Transport:
    """A socket's transport that writes nowhere."""

    def __init__(self) -> None:
        self._closing = False

    def write(self, data: bytes) -> None:
        pass

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        self._closing = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        addresses = {"peername": ("127.0.0.1", 5555), "sockname": ("127.0.0.1", 8080)}
        return addresses.get(name, default)

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def cpu_per_request(protocol: type[Any], new_connections: bool) -> float:
    """Microseconds of this process's CPU time per request."""
    loop = asyncio.get_running_loop()
    config = Config(app=app, lifespan="off", log_level="warning", access_log=False)
    config.load()
    state = ServerState()

    def connect() -> Any:
        made = protocol(config=config, server_state=state, app_state={}, _loop=loop)
        made.connection_made(Transport())
        return made

    started = time.process_time()
    if new_connections:
        for _ in range(TIMES):
            one = connect()
            one.data_received(REQUEST)
            await asyncio.sleep(0)
            one.connection_lost(None)
    else:
        kept = connect()
        for _ in range(TIMES):
            kept.data_received(REQUEST)
            await asyncio.sleep(0)
    return (time.process_time() - started) / TIMES * 1e6


async def main() -> None:
    connection_limits.configure(
        connection_limits.ConnectionLimits(
            max_connections=10_000, per_address=10_000, header_timeout=15.0, body_timeout=60.0
        )
    )
    for new_connections in (False, True):
        best: dict[str, float] = {}
        for _ in range(TURNS):
            for protocol in (CombinedWritesHttpToolsProtocol, GuardedHttpToolsProtocol):
                cost = await cpu_per_request(protocol, new_connections)
                best[protocol.__name__] = min(best.get(protocol.__name__, 1e9), cost)
        without = best["CombinedWritesHttpToolsProtocol"]
        held = best["GuardedHttpToolsProtocol"]
        kind = "a new connection per request" if new_connections else "one kept-alive connection"
        print(
            f"{kind}: {without:.1f} µs without limits, {held:.1f} µs with "
            f"({held - without:+.1f} µs)"
        )


if __name__ == "__main__":
    uvloop.run(main())
