"""A conversation: the turns one owner (a team, and the person its key was issued for) had with
models over the WebSocket chat, kept so that the next turn can continue it.

Only its owner continues it; the messages themselves are stored beside it, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domains.conversations.events import (
    ConversationDeleted,
    ConversationExtended,
    ConversationStarted,
)
from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow


@dataclass(eq=False)
class Conversation(Aggregate):
    id: str
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    title: str | None = None
    message_count: int = 0
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        Aggregate.__init__(self)

    @classmethod
    def start(
        cls,
        conversation_id: str,
        *,
        org_id: str,
        team_id: str,
        user_id: str | None,
        key_id: str,
        title: str | None,
    ) -> Conversation:
        conversation = cls(
            id=conversation_id,
            org_id=org_id,
            team_id=team_id,
            user_id=user_id,
            key_id=key_id,
            title=title,
        )
        conversation.record(
            ConversationStarted(
                conversation_id=conversation_id,
                org_id=org_id,
                team_id=team_id,
                user_id=user_id,
                key_id=key_id,
                actor=f"key:{key_id}",
            )
        )
        return conversation

    def owned_by(self, team_id: str, user_id: str | None) -> bool:
        return self.team_id == team_id and self.user_id == user_id

    def extend(self, messages: int, *, request_id: str, finish_reason: str | None) -> int:
        """Counts a turn of `messages` messages in; the sequence number of its first."""
        first = self.message_count
        self.message_count += messages
        self.updated_at = utcnow()
        self.record(
            ConversationExtended(
                conversation_id=self.id,
                request_id=request_id,
                first_seq=first,
                messages=messages,
                finish_reason=finish_reason,
            )
        )
        return first

    def delete(self, *, actor: str) -> None:
        self.record(
            ConversationDeleted(
                conversation_id=self.id,
                org_id=self.org_id,
                team_id=self.team_id,
                user_id=self.user_id,
                messages=self.message_count,
                actor=actor,
            )
        )
