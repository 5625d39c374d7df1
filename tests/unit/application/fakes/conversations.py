"""The conversations context's repositories over the in-memory store
(`ConversationsUnitOfWork`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domains.conversations.model import Conversation
from domains.conversations.prompts import Prompt, PromptVersion
from domains.conversations.responses import ResponseRecord, StoredResponse
from domains.shared.errors import Conflict
from tests.unit.application.fakes.staging import AggregateRepo, Staged

StoredMessage = tuple[dict[str, Any], str, str | None]
"""A message as stored: (message, request id, finish reason of its turn)."""


class FakeConversations(AggregateRepo[Conversation]):
    def __init__(
        self,
        uow: Any,
        table: dict[str, Conversation],
        messages: dict[tuple[str, int], StoredMessage],
    ) -> None:
        super().__init__(uow, table)
        self.messages = Staged(messages)

    async def append(
        self,
        conversation_id: str,
        first_seq: int,
        messages: Sequence[dict[str, Any]],
        *,
        request_id: str,
        finish_reason: str | None,
    ) -> None:
        for seq, message in enumerate(messages, start=first_seq):
            self.messages.put((conversation_id, seq), (message, request_id, finish_reason))

    async def remove(self, conversation_id: str) -> None:
        self.unset(conversation_id)
        for key in list(self.messages.view()):
            if key[0] == conversation_id:
                self.messages.unset(key)

    def apply(self) -> None:
        super().apply()
        self.messages.apply()

    def drop(self) -> None:
        super().drop()
        self.messages.drop()


class FakePrompts(AggregateRepo[Prompt]):
    def __init__(
        self,
        uow: Any,
        table: dict[str, Prompt],
        versions: dict[tuple[str, int], PromptVersion],
    ) -> None:
        super().__init__(uow, table)
        self.versions = Staged(versions)

    async def add(self, item: Prompt) -> None:
        for other in self.view().values():
            if other.team_id == item.team_id and other.name == item.name:
                raise Conflict(f"a prompt named {item.name} exists")
        await super().add(item)

    async def add_version(self, version: PromptVersion) -> None:
        self.versions.put((version.prompt_id, version.version), version)

    async def remove(self, prompt_id: str) -> None:
        self.unset(prompt_id)
        for key in list(self.versions.view()):
            if key[0] == prompt_id:
                self.versions.unset(key)

    def apply(self) -> None:
        super().apply()
        self.versions.apply()

    def drop(self) -> None:
        super().drop()
        self.versions.drop()


def _read_back(record: ResponseRecord) -> StoredResponse:
    """The record as a database reads it back: its JSON parsed."""
    return StoredResponse(
        id=record.id,
        org_id=record.org_id,
        team_id=record.team_id,
        key_id=record.key_id,
        user_id=record.user_id,
        model=record.model,
        status=record.status,
        previous_response_id=record.previous_response_id,
        response=json.loads(record.response),
        input_items=json.loads(record.input_items),
        expires_at=record.expires_at,
        created_at=record.created_at,
    )


class FakeStoredResponses(AggregateRepo[StoredResponse]):
    async def add(self, item: ResponseRecord) -> None:  # type: ignore[override]
        await self.add_all([item])

    async def add_all(self, items: Sequence[ResponseRecord]) -> None:
        ids = [item.id for item in items]
        if len(set(ids)) < len(ids) or any(i in self.view() for i in ids):
            raise Conflict("a response with one of these ids is stored already")
        for item in items:
            await super().add(_read_back(item))

    async def remove(self, response_id: str) -> None:
        self.unset(response_id)

    async def remove_expired(self, now: datetime, *, most: int) -> int:
        due = sorted(
            (r for r in self.view().values() if r.expires_at <= now), key=lambda r: r.expires_at
        )[:most]
        for response in due:
            self.unset(response.id)
        return len(due)
