"""`GET /v1/ws`: the WebSocket chat protocol (docs/websocket.md)."""

from __future__ import annotations

from typing import Any

from litestar import WebSocket, websocket

from interfaces.http.container import container_of
from interfaces.ws.connection import serve
from interfaces.ws.credentials import authenticate


@websocket("/v1/ws", name="ws_chat")
async def chat_socket(socket: WebSocket[Any, Any, Any]) -> None:
    container = container_of(socket)
    await socket.accept()
    found = await authenticate(socket, container)
    if found is not None:
        caller, recheck = found
        await serve(socket, container, recheck, caller.key_id)


ROUTES = [chat_socket]
