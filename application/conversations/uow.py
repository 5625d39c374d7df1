"""The unit of work of the conversations context: conversations, prompts, stored responses."""

from __future__ import annotations

from typing import Protocol

from application.shared.uow import UnitOfWork
from domains.conversations.ports import (
    ConversationRepository,
    PromptRepository,
    StoredResponseRepository,
)


class ConversationsUnitOfWork(UnitOfWork, Protocol):
    conversations: ConversationRepository
    prompts: PromptRepository
    responses: StoredResponseRepository
