"""What the Responses WebSocket is served with: the WebSocket chat's services (authentication,
settings, metrics, the per-key connection count) and the source of responses."""

from __future__ import annotations

from dataclasses import dataclass

from interfaces.ws.responses.source import ResponseSource
from interfaces.ws.services import ChatServices


@dataclass(frozen=True, slots=True)
class ResponsesSocketServices:
    chat: ChatServices
    create: ResponseSource
