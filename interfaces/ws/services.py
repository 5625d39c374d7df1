"""What the WebSocket chat is served with: the parts of the composition a connection and its
generations use (authentication, the completion pipeline, conversations, the per-key
connection count, metrics), provided to the route as one dependency (`chat_services`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from application.bus import MessageBus
    from application.providers.completions.pipeline import CompletionPipeline
    from application.teams.authenticate import KeyAuthenticator
    from application.teams.sessions import SessionAuthenticator
    from infrastructure.observability.metrics import Metrics
    from infrastructure.settings import Settings
    from interfaces.ws.key_connections import KeyConnections


@dataclass(frozen=True, slots=True)
class ChatServices:
    settings: Settings
    metrics: Metrics
    completions: CompletionPipeline
    bus: MessageBus
    engine: AsyncEngine
    authenticator: KeyAuthenticator
    sessions: SessionAuthenticator | None  # dashboard sessions, where sign-in is set up
    ws_keys: KeyConnections
