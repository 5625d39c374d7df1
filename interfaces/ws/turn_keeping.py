"""Keeping a generation's turn in its conversation once it ends, finished or cancelled. A turn
that could not be stored does not undo the generation: the failure is told in its last message
(`conversation_error`), next to the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from interfaces.ws.chat_request import ChatRequest
from interfaces.ws.errors import error_out
from interfaces.ws.services import ChatServices
from interfaces.ws.stream_reader import Reply


@dataclass(frozen=True, slots=True)
class Kept:
    """Where a turn was stored, or why it could not be."""

    conversation_id: str | None = None
    error: dict[str, Any] | None = None


async def keep_turn(
    services: ChatServices,
    chat: ChatRequest | None,
    reply: Reply,
    finish_reason: str | None,
    *,
    request_id: str,
    generation_id: str,
) -> Kept:
    """Stores the turn in its conversation, if it has one."""
    if chat is None or chat.conversation is None:
        return Kept()
    try:
        stored = await chat.conversation.keep(services, reply.message(), finish_reason, request_id)
    except Exception as error:  # the generation stands; only the record of it failed
        return Kept(error=error_out(error, generation_id).error)
    return Kept(conversation_id=stored)
