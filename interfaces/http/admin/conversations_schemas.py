"""Admin API answers about stored conversations, and the bodies and answers of the prompt
library."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec import Meta

PromptName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")]
Description = Annotated[str, Meta(min_length=1, max_length=1000)]
TemplateMessages = Annotated[list[dict[str, Any]], Meta(min_length=1, max_length=100)]


class ConversationOut(msgspec.Struct):
    id: str
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    title: str | None
    message_count: int
    created_at: datetime
    updated_at: datetime


class ConversationListOut(msgspec.Struct):
    rows: list[ConversationOut]
    next_before_id: str | None


class StoredMessageOut(msgspec.Struct):
    seq: int
    message: dict[str, Any]
    request_id: str
    finish_reason: str | None
    created_at: datetime


class TranscriptOut(msgspec.Struct):
    conversation: ConversationOut
    messages: list[StoredMessageOut]


class ConversationDeletedOut(msgspec.Struct):
    id: str
    deleted: bool


class CreatePromptBody(msgspec.Struct, forbid_unknown_fields=True):
    name: PromptName
    messages: TemplateMessages
    description: Description | None = None


class PublishPromptBody(msgspec.Struct, forbid_unknown_fields=True):
    messages: TemplateMessages
    description: Description | None = None


class PromptVersionOut(msgspec.Struct):
    version: int
    messages: list[dict[str, Any]]
    variables: list[str]
    created_by: str
    created_at: datetime


class PromptOut(msgspec.Struct):
    id: str
    team_id: str
    name: str
    description: str | None
    latest_version: int
    created_at: datetime
    updated_at: datetime


class PromptDetailOut(msgspec.Struct):
    prompt: PromptOut
    versions: list[PromptVersionOut]


class PromptDeletedOut(msgspec.Struct):
    id: str
    deleted: bool
