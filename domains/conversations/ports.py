"""What the conversations context needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from domains.conversations.model import Conversation
from domains.conversations.prompts import Prompt, PromptVersion
from domains.conversations.responses import ResponseRecord, StoredResponse


class ConversationRepository(Protocol):
    async def add(self, conversation: Conversation) -> None: ...

    async def get(self, conversation_id: str) -> Conversation | None:
        """The conversation, locked against other turns until the transaction ends."""
        ...

    async def save(self, conversation: Conversation) -> None: ...

    async def append(
        self,
        conversation_id: str,
        first_seq: int,
        messages: Sequence[dict[str, Any]],
        *,
        request_id: str,
        finish_reason: str | None,
    ) -> None:
        """Stores a turn's messages from `first_seq` on (the reply last)."""
        ...

    async def remove(self, conversation_id: str) -> None:
        """Deletes the conversation and every message of it."""
        ...


class PromptRepository(Protocol):
    async def add(self, prompt: Prompt) -> None:
        """Refuses (Conflict) a name the team's library has already."""
        ...

    async def get(self, prompt_id: str) -> Prompt | None:
        """The prompt, locked against other versions until the transaction ends."""
        ...

    async def save(self, prompt: Prompt) -> None: ...

    async def add_version(self, version: PromptVersion) -> None: ...

    async def remove(self, prompt_id: str) -> None:
        """Deletes the prompt and all its versions."""
        ...


class StoredResponseRepository(Protocol):
    async def add(self, response: ResponseRecord) -> None:
        """Refuses (Conflict) an id stored already."""
        ...

    async def add_all(self, responses: Sequence[ResponseRecord]) -> None:
        """Adds them all in one statement; refuses (Conflict) if any id is stored already."""
        ...

    async def get(self, response_id: str) -> StoredResponse | None:
        """The response, locked against other changes until the transaction ends (expired or
        not: the caller checks `visible_to`)."""
        ...

    async def remove(self, response_id: str) -> None: ...

    async def remove_expired(self, now: datetime, *, most: int) -> int:
        """Deletes up to `most` responses whose retention ended before `now`; how many."""
        ...
