"""`GET /v1/ws`: the WebSocket chat protocol (docs/websocket.md)."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import WebSocket, websocket

from interfaces.http.container import container_of
from interfaces.ws.connection import serve
from interfaces.ws.credentials import authenticate, refuse

log = structlog.get_logger("fluxrouter.ws")


@websocket("/v1/ws", name="ws_chat")
async def chat_socket(socket: WebSocket[Any, Any, Any]) -> None:
    # the connection composes its generations from most of the container (keys, sessions,
    # pipeline, bus, engine, metrics): it is handed the whole, as the composition it serves
    container = container_of(socket)
    await socket.accept()
    found = await authenticate(socket, container)
    if found is None:
        return
    caller, recheck = found
    held, most = container.ws_keys, container.settings.websocket.max_connections_per_key
    if not held.take(caller.key_id, most):
        log.info("ws.refused", key_id=caller.key_id, reason="too_many_connections")
        await refuse(
            socket,
            f"This key holds {most} chat connections open already, the most it may; close "
            "one, or retry later.",
            code="too_many_connections",
            status=429,
        )
        return
    try:
        await serve(socket, container, recheck, caller.key_id)
    finally:
        held.give_back(caller.key_id)


ROUTES = [chat_socket]
