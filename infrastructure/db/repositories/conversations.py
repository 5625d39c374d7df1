"""Conversation and prompt repositories over SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from domains.conversations.model import Conversation
from domains.conversations.prompts import Prompt, PromptVersion
from domains.shared.aggregate import Aggregate
from domains.shared.clock import utcnow
from domains.shared.errors import Conflict
from infrastructure.db.tables import conversation_messages, conversations, prompt_versions, prompts

NAME_TAKEN = "the team's library has a prompt of this name already"


class SqlConversationRepository:
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        self._conn, self._seen = conn, seen

    async def add(self, conversation: Conversation) -> None:
        await self._conn.execute(
            conversations.insert().values(
                id=conversation.id,
                org_id=conversation.org_id,
                team_id=conversation.team_id,
                user_id=conversation.user_id,
                key_id=conversation.key_id,
                title=conversation.title,
                message_count=conversation.message_count,
                created_at=conversation.created_at,
                updated_at=conversation.updated_at,
            )
        )
        self._seen.append(conversation)

    async def get(self, conversation_id: str) -> Conversation | None:
        query = select(conversations).where(conversations.c.id == conversation_id)
        row = (await self._conn.execute(query.with_for_update())).first()
        if row is None:
            return None
        conversation = Conversation(
            id=row.id,
            org_id=row.org_id,
            team_id=row.team_id,
            user_id=row.user_id,
            key_id=row.key_id,
            title=row.title,
            message_count=row.message_count,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        self._seen.append(conversation)
        return conversation

    async def save(self, conversation: Conversation) -> None:
        await self._conn.execute(
            update(conversations)
            .where(conversations.c.id == conversation.id)
            .values(
                title=conversation.title,
                message_count=conversation.message_count,
                updated_at=conversation.updated_at,
            )
        )

    async def append(
        self,
        conversation_id: str,
        first_seq: int,
        messages: Sequence[dict[str, Any]],
        *,
        request_id: str,
        finish_reason: str | None,
    ) -> None:
        now = utcnow()
        last = len(messages) - 1
        await self._conn.execute(
            conversation_messages.insert(),
            [
                {
                    "conversation_id": conversation_id,
                    "seq": first_seq + i,
                    "role": str(message.get("role", ""))[:16],
                    "message": message,
                    "request_id": request_id,
                    "finish_reason": finish_reason if i == last else None,
                    "created_at": now,
                }
                for i, message in enumerate(messages)
            ],
        )

    async def remove(self, conversation_id: str) -> None:
        await self._conn.execute(
            delete(conversation_messages).where(
                conversation_messages.c.conversation_id == conversation_id
            )
        )
        await self._conn.execute(delete(conversations).where(conversations.c.id == conversation_id))


class SqlPromptRepository:
    def __init__(self, conn: AsyncConnection, seen: list[Aggregate]) -> None:
        self._conn, self._seen = conn, seen

    async def add(self, prompt: Prompt) -> None:
        taken = await self._conn.execute(
            select(prompts.c.id).where(
                prompts.c.team_id == prompt.team_id, prompts.c.name == prompt.name
            )
        )
        if taken.first() is not None:
            raise Conflict(NAME_TAKEN)
        try:
            await self._conn.execute(
                prompts.insert().values(
                    id=prompt.id,
                    org_id=prompt.org_id,
                    team_id=prompt.team_id,
                    name=prompt.name,
                    description=prompt.description,
                    latest_version=prompt.latest_version,
                    created_at=prompt.created_at,
                    updated_at=prompt.updated_at,
                )
            )
        except IntegrityError as exc:  # the same name, added by a concurrent request
            raise Conflict(NAME_TAKEN) from exc
        self._seen.append(prompt)

    async def get(self, prompt_id: str) -> Prompt | None:
        query = select(prompts).where(prompts.c.id == prompt_id).with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        prompt = Prompt(
            id=row.id,
            org_id=row.org_id,
            team_id=row.team_id,
            name=row.name,
            description=row.description,
            latest_version=row.latest_version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )
        self._seen.append(prompt)
        return prompt

    async def save(self, prompt: Prompt) -> None:
        await self._conn.execute(
            update(prompts)
            .where(prompts.c.id == prompt.id)
            .values(
                description=prompt.description,
                latest_version=prompt.latest_version,
                updated_at=prompt.updated_at,
            )
        )

    async def add_version(self, version: PromptVersion) -> None:
        await self._conn.execute(
            prompt_versions.insert().values(
                prompt_id=version.prompt_id,
                version=version.version,
                messages=version.messages,
                variables=version.variables,
                created_by=version.created_by,
                created_at=version.created_at,
            )
        )

    async def remove(self, prompt_id: str) -> None:
        await self._conn.execute(
            delete(prompt_versions).where(prompt_versions.c.prompt_id == prompt_id)
        )
        await self._conn.execute(delete(prompts).where(prompts.c.id == prompt_id))
