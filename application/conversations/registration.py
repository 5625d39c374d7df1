"""The conversations context on the bus: turns recorded, conversations and prompts managed."""

from __future__ import annotations

from application.bus import Registry
from application.conversations import handlers
from application.conversations.commands import (
    CreatePrompt,
    DeleteConversation,
    DeletePrompt,
    PublishPromptVersion,
    RecordTurn,
)


def register(registry: Registry) -> None:
    registry.handle(RecordTurn, handlers.record_turn)
    registry.handle(DeleteConversation, handlers.delete_conversation)
    registry.handle(CreatePrompt, handlers.create_prompt)
    registry.handle(PublishPromptVersion, handlers.publish_prompt_version)
    registry.handle(DeletePrompt, handlers.delete_prompt)
