"""Reads of stored conversations: for the WebSocket chat (a conversation's history, to continue
it) and for the admin API (lists and transcripts)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.tables import conversation_messages, conversations


class ConversationView(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    title: str | None
    message_count: int
    created_at: datetime
    updated_at: datetime


class MessageView(msgspec.Struct, frozen=True, kw_only=True):
    seq: int
    message: dict[str, Any]
    request_id: str
    finish_reason: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """Which conversations a list covers; `user_id` None with `any_user` False: keys issued for
    no one."""

    org_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    any_user: bool = True


_CONVERSATION = tuple(conversations.c[name] for name in ConversationView.__struct_fields__)


async def conversation_by_id(engine: AsyncEngine, conversation_id: str) -> ConversationView | None:
    query = select(*_CONVERSATION).where(conversations.c.id == conversation_id)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return ConversationView(**row._mapping) if row is not None else None


async def messages_of(engine: AsyncEngine, conversation_id: str) -> list[MessageView]:
    """A conversation's messages, in order."""
    query = (
        select(
            conversation_messages.c.seq,
            conversation_messages.c.message,
            conversation_messages.c.request_id,
            conversation_messages.c.finish_reason,
            conversation_messages.c.created_at,
        )
        .where(conversation_messages.c.conversation_id == conversation_id)
        .order_by(conversation_messages.c.seq)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [MessageView(**row._mapping) for row in rows]


async def history_of(
    engine: AsyncEngine, conversation_id: str, team_id: str, user_id: str | None
) -> list[dict[str, Any]] | None:
    """The messages to send before a new turn, or None unless the conversation is this
    owner's."""
    found = await conversation_by_id(engine, conversation_id)
    if found is None or found.team_id != team_id or found.user_id != user_id:
        return None
    return [view.message for view in await messages_of(engine, conversation_id)]


async def conversations_of(
    engine: AsyncEngine, which: ConversationFilter, *, limit: int, before_id: str | None
) -> list[ConversationView]:
    """Newest first; `before_id` continues a list after its last row."""
    query = select(*_CONVERSATION).order_by(conversations.c.id.desc()).limit(limit)
    if which.org_id is not None:
        query = query.where(conversations.c.org_id == which.org_id)
    if which.team_id is not None:
        query = query.where(conversations.c.team_id == which.team_id)
    if not which.any_user:
        column = conversations.c.user_id
        query = query.where(column.is_(None) if which.user_id is None else column == which.user_id)
    if before_id is not None:
        query = query.where(conversations.c.id < before_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [ConversationView(**row._mapping) for row in rows]
