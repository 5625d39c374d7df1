"""The conversations context on the bus: turns recorded, conversations and prompts managed,
responses stored, deleted and forgotten past their retention."""

from __future__ import annotations

from application.bus import Registry
from application.conversations import handlers, response_handlers
from application.conversations.commands import (
    CreatePrompt,
    DeleteConversation,
    DeletePrompt,
    DeleteResponse,
    ForgetExpiredResponses,
    PublishPromptVersion,
    RecordTurn,
    StoreResponse,
)


def register(registry: Registry) -> None:
    registry.handle(RecordTurn, handlers.record_turn)
    registry.handle(DeleteConversation, handlers.delete_conversation)
    registry.handle(CreatePrompt, handlers.create_prompt)
    registry.handle(PublishPromptVersion, handlers.publish_prompt_version)
    registry.handle(DeletePrompt, handlers.delete_prompt)
    registry.handle(StoreResponse, response_handlers.store_response)
    registry.handle(DeleteResponse, response_handlers.delete_response)
    registry.handle(ForgetExpiredResponses, response_handlers.forget_expired_responses)
