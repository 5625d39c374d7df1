"""A generation that belongs to a stored conversation: the history it continues, and how its
turn is kept once it ends (finished or cancelled) — the messages sent, then the reply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from application.conversations.commands import RecordTurn
from domains.conversations.errors import ConversationNotFound
from domains.shared.caller import Caller
from domains.shared.ids import new_id
from infrastructure.queries.conversations import history_of
from interfaces.ws.messages import ChatStart
from interfaces.ws.services import ChatServices


@dataclass(frozen=True, slots=True)
class ConversationTurn:
    conversation_id: str
    start: bool  # the conversation is made when this turn is kept
    caller: Caller
    history: list[dict[str, Any]]
    sent: list[dict[str, Any]]
    title: str | None = None

    async def keep(
        self,
        services: ChatServices,
        reply: dict[str, Any],
        finish_reason: str | None,
        request_id: str,
    ) -> str:
        await services.bus.handle(
            RecordTurn(
                conversation_id=self.conversation_id,
                start=self.start,
                org_id=self.caller.org_id,
                team_id=self.caller.team_id,
                user_id=self.caller.user_id,
                key_id=self.caller.key_id,
                messages=[*self.sent, reply],
                request_id=request_id,
                finish_reason=finish_reason,
                title=self.title,
            )
        )
        return self.conversation_id


async def turn_for(
    services: ChatServices, caller: Caller, start: ChatStart, sent: list[dict[str, Any]]
) -> ConversationTurn | None:
    """The conversation a `chat.start` continues or starts, if any (404 for one that is not the
    caller's: ids of others cannot be probed)."""
    if start.conversation is not None:
        return ConversationTurn(new_id(), True, caller, [], sent, start.conversation.title)
    if start.conversation_id is None:
        return None
    history = await history_of(
        services.engine, start.conversation_id, caller.team_id, caller.user_id
    )
    if history is None:
        raise ConversationNotFound()
    return ConversationTurn(start.conversation_id, False, caller, history, sent)
