"""The unit of work of the conversations context: conversations and prompts."""

from __future__ import annotations

from typing import Protocol

from application.shared.uow import UnitOfWork
from domains.conversations.ports import ConversationRepository, PromptRepository


class ConversationsUnitOfWork(UnitOfWork, Protocol):
    conversations: ConversationRepository
    prompts: PromptRepository
