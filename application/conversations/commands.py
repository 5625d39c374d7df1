"""What can be asked of the conversations context."""

from __future__ import annotations

from typing import Any

import msgspec

from domains.shared.events import Command


class RecordTurn(Command, frozen=True, kw_only=True):
    """Store a turn: the messages sent, then the reply. `start` makes the conversation (with
    `conversation_id`) as the turn is stored; otherwise it must exist and be the caller's."""

    conversation_id: str
    start: bool
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    messages: list[dict[str, Any]]
    request_id: str
    finish_reason: str | None
    title: str | None = None


class DeleteConversation(Command, frozen=True, kw_only=True):
    conversation_id: str
    actor: str


class CreatePrompt(Command, frozen=True, kw_only=True):
    org_id: str
    team_id: str
    name: str
    messages: list[dict[str, Any]]
    actor: str
    description: str | None = None


class PublishPromptVersion(Command, frozen=True, kw_only=True):
    prompt_id: str
    messages: list[dict[str, Any]]
    actor: str
    description: str | None = None


class DeletePrompt(Command, frozen=True, kw_only=True):
    prompt_id: str
    actor: str


class StoreResponse(Command, frozen=True, kw_only=True):
    """Keep a response `POST /v1/responses` answered (its `Response` object and the request's
    input items) for `retention_seconds`, readable by every key of `org_id`. Both are JSON as the
    serving process encoded them (`msgspec.Raw`): they pass to the database as they are, never
    parsed again; `response_id`, `model` and `status` are the response's own."""

    response: msgspec.Raw
    input_items: msgspec.Raw
    response_id: str
    model: str
    status: str
    org_id: str
    team_id: str
    key_id: str
    user_id: str | None
    previous_response_id: str | None
    retention_seconds: float


class StoreResponses(Command, frozen=True, kw_only=True):
    """Keep several responses in one transaction (the group commit of `ResponseStore`): all of
    them, or none."""

    responses: list[StoreResponse]


class DeleteResponse(Command, frozen=True, kw_only=True):
    """Delete a stored response; one of another org, or past its retention, is not found."""

    response_id: str
    org_id: str
    actor: str


class ForgetExpiredResponses(Command, frozen=True, kw_only=True):
    """Delete up to `most` stored responses past their retention (the retention sweep)."""

    most: int = 1000
