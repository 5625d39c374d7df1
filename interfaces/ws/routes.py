"""`GET /v1/ws`: the WebSocket chat protocol (docs/websocket.md)."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import WebSocket, websocket

from interfaces.http.dependencies import WsChat
from interfaces.ws.connection import serve
from interfaces.ws.credentials import authenticate, refuse

log = structlog.get_logger("fluxrouter.ws")


@websocket("/v1/ws", name="ws_chat")
async def chat_socket(socket: WebSocket[Any, Any, Any], chat_services: WsChat) -> None:
    services = chat_services  # what the connection and its generations are served with
    await socket.accept()
    found = await authenticate(socket, services)
    if found is None:
        return
    caller, recheck = found
    held, most = services.ws_keys, services.settings.websocket.max_connections_per_key
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
        await serve(socket, services, recheck, caller.key_id)
    finally:
        held.give_back(caller.key_id)


ROUTES = [chat_socket]
