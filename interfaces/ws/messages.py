"""The messages of the WebSocket chat protocol, version 1 (docs/websocket.md has their JSON
Schemas). Every message is a JSON object whose `type` names it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from interfaces.http.openai.schemas import ChatMessage, NonEmpty

PROTOCOL_VERSION = 1

GenerationId = Annotated[str, Meta(min_length=1, max_length=128)]
RecordId = Annotated[str, Meta(min_length=1, max_length=64)]

# -- client to server --------------------------------------------------------------------------


class PromptRef(msgspec.Struct, forbid_unknown_fields=True):
    """A prompt of the caller's team's library, rendered into messages."""

    name: Annotated[str, Meta(min_length=1, max_length=200)]
    version: Annotated[int, Meta(ge=1)] | None = None
    variables: dict[str, str] = {}


class NewConversation(msgspec.Struct, forbid_unknown_fields=True):
    """Store this generation as the first turn of a new conversation."""

    title: Annotated[str, Meta(min_length=1, max_length=200)] | None = None


class ChatStart(msgspec.Struct, tag="chat.start", tag_field="type"):
    """Start a generation. Any other field is a chat-completions parameter, passed on."""

    id: GenerationId
    model: NonEmpty
    messages: list[ChatMessage] | None = None
    prompt: PromptRef | None = None
    conversation_id: RecordId | None = None
    conversation: NewConversation | None = None


class ChatCancel(msgspec.Struct, tag="chat.cancel", tag_field="type"):
    id: GenerationId


class Ping(msgspec.Struct, tag="ping", tag_field="type"):
    pass


class Auth(msgspec.Struct, tag="auth", tag_field="type"):
    key: Annotated[str, Meta(min_length=1, max_length=512)]


ClientMessage = ChatStart | ChatCancel | Ping | Auth
CLIENT_TYPES: dict[str, type[ClientMessage]] = {
    "chat.start": ChatStart,
    "chat.cancel": ChatCancel,
    "ping": Ping,
    "auth": Auth,
}
PROTOCOL_FIELDS = frozenset({"type", "id", "prompt", "conversation_id", "conversation"})
"""The fields of `chat.start` that are the protocol's, not parameters for the model."""

# -- server to client --------------------------------------------------------------------------


class Ready(msgspec.Struct, tag="ready", tag_field="type"):
    """Sent once the connection is authenticated."""

    protocol: int
    max_generations: int
    max_message_bytes: int


class PromptTokensDetails(msgspec.Struct):
    cached_tokens: int


class UsageOut(msgspec.Struct):
    """Usage in OpenAI's shape; `estimated` when the upstream was cut before it reported it."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails
    estimated: bool


class ChatDelta(msgspec.Struct, tag="chat.delta", tag_field="type"):
    id: str
    delta: dict[str, Any]


RATE_LIMIT_PREFIX = "x-ratelimit-"


def rate_limits_of(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The `x-ratelimit-*` entries of the headers /v1 would answer with, as they are there (the
    `rate_limits` of `chat.done`, `chat.cancelled` and `error`); None when there are none: no
    rate limit applies to the key."""
    found = {k: v for k, v in headers.items() if k.lower().startswith(RATE_LIMIT_PREFIX)}
    return found or None


ROUTING_PREFIX = "x-fluxrouter-"


def routing_of(headers: Mapping[str, str]) -> dict[str, str] | None:
    """The `x-fluxrouter-*` entries of the headers /v1 would answer with (the `routing` of
    `chat.done` and `error`): which deployment answered, or was tried last, and why; None for
    a message about no routed call."""
    found = {k: v for k, v in headers.items() if k.lower().startswith(ROUTING_PREFIX)}
    return found or None


class ChatDone(msgspec.Struct, tag="chat.done", tag_field="type", omit_defaults=True):
    id: str
    finish_reason: str | None
    usage: UsageOut
    request_id: str
    conversation_id: str | None = None
    conversation_error: dict[str, Any] | None = None
    rate_limits: dict[str, str] | None = None
    routing: dict[str, str] | None = None


class ChatCancelled(msgspec.Struct, tag="chat.cancelled", tag_field="type", omit_defaults=True):
    id: str
    usage: UsageOut
    request_id: str
    conversation_id: str | None = None
    conversation_error: dict[str, Any] | None = None
    rate_limits: dict[str, str] | None = None


class ErrorOut(msgspec.Struct, tag="error", tag_field="type", omit_defaults=True):
    """`error` is the OpenAI error object; `status` the HTTP status /v1 would have answered;
    `rate_limits` and `routing` the `x-ratelimit-*` and `x-fluxrouter-*` headers it would have
    sent."""

    error: dict[str, Any]
    status: int
    id: str | None = None
    retry_after: float | None = None
    rate_limits: dict[str, str] | None = None
    routing: dict[str, str] | None = None


class Pong(msgspec.Struct, tag="pong", tag_field="type"):
    pass


ServerMessage = Ready | ChatDelta | ChatDone | ChatCancelled | ErrorOut | Pong

_encoder = msgspec.json.Encoder()


def encode(message: ServerMessage) -> str:
    return _encoder.encode(message).decode()
