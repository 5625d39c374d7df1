"""What the conversations context tells the others: conversations started, extended and deleted,
prompts published and deleted, stored responses deleted. Never a message's text: the audit log
keeps who and what, not what was said."""

from __future__ import annotations

from domains.shared.events import Event


class ConversationStarted(Event, frozen=True, kw_only=True, tag=True):
    conversation_id: str
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    actor: str


class ConversationExtended(Event, frozen=True, kw_only=True, tag=True):
    """A turn was stored: the messages sent and the reply (partial when cancelled). The call
    itself is audited once charged, under its `request_id`."""

    conversation_id: str
    request_id: str
    first_seq: int
    messages: int
    finish_reason: str | None


class ConversationDeleted(Event, frozen=True, kw_only=True, tag=True):
    conversation_id: str
    org_id: str
    team_id: str
    user_id: str | None
    messages: int
    actor: str


class PromptPublished(Event, frozen=True, kw_only=True, tag=True):
    """A version of a team's prompt was published (version 1 creates the prompt)."""

    prompt_id: str
    org_id: str
    team_id: str
    name: str
    version: int
    variables: list[str]
    actor: str


class PromptDeleted(Event, frozen=True, kw_only=True, tag=True):
    prompt_id: str
    org_id: str
    team_id: str
    name: str
    versions: int
    actor: str


class ResponseDeleted(Event, frozen=True, kw_only=True, tag=True):
    """A stored response (`POST /v1/responses`) was deleted by a key of its org."""

    response_id: str
    org_id: str
    team_id: str
    key_id: str
    actor: str


EVENTS: tuple[type[Event], ...] = (
    ConversationStarted,
    ConversationExtended,
    ConversationDeleted,
    PromptPublished,
    PromptDeleted,
    ResponseDeleted,
)
