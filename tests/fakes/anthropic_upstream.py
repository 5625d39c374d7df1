"""A fake Anthropic upstream that speaks the Messages API's exact wire format.

Used by the gateway's tests (in-process, via :class:`FakeAnthropic`) and benchmarks (standalone,
via ``python -m tests.fakes.anthropic_upstream --host 127.0.0.1 --port 9101``).

Clients append ``/v1/...`` themselves, so :attr:`FakeAnthropic.base_url` has no ``/v1``.
Behaviour is fully deterministic apart from message ids, request ids and timestamps:

* ``POST /v1/messages`` validates the request the way the real API does (400
  ``invalid_request_error`` otherwise; with ``anthropic-version: 2026-10-21`` or later it also
  rejects ``temperature``/``top_p``/``top_k``, like the real API) and replies
  ``"Echo: " + <last user text>`` (plain or SSE stream), or one ``tool_use`` block when ``tools``
  are given and the last user turn carries no ``tool_result``; usage counts whitespace-separated
  words. The tool called is the first one (``auto``, ``any``) or the one named (``tool``); its
  input is a value its ``input_schema`` accepts, built from the last user text
  (:mod:`tests.fakes.schema_sample`). After a ``tool_result`` a forced choice still calls a tool,
  as the real API must: the named one (``tool``) or the last one declared (``any``).
* ``POST /v1/messages/count_tokens`` returns the same input-token count.
* ``GET /v1/models`` and ``GET /v1/models/{id}`` list a few Claude model ids.
* Special model names: ``fake-overloaded`` (529), ``fake-rate-limited`` (429, ``retry-after``),
  ``fake-error-500``, ``fake-error-400`` (``invalid_request_error``), ``fake-error-404``
  (``not_found_error``, as the API answers a model it does not know), ``fake-slow``,
  ``fake-stream-error`` (in-stream ``error`` event) and ``fake-cached`` (reports cache-read
  input tokens).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
from aiohttp import web

from tests.fakes.schema_sample import sample
from tests.fakes.server import (
    DEFAULT_SLOW_SECONDS,
    EXPECTED_KEY,
    REQUEST_LOG,  # noqa: F401  (re-exported: create_app keeps its log there)
    SLOW_SECONDS,
    FakeServer,
    HTTPFailure,
    RecordedRequest,
    RequestLog,
    chat_pieces,
    count_words,
    guarded,
    log_request,
    new_app,
    read_json,
    run_main,
)

__all__ = [
    "MODELS",
    "FakeAnthropic",
    "RecordedRequest",
    "RequestLog",
    "chat_pieces",
    "count_words",
    "create_app",
    "main",
]

# ---------------------------------------------------------------------------------------------
# Constants
# ---------------------------------------------------------------------------------------------

# (id, display name, release date), newest first as the real endpoint lists them.
MODELS: Final[tuple[tuple[str, str, str], ...]] = (
    ("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
    ("claude-sonnet-4-5", "Claude Sonnet 4.5", "2025-09-29T00:00:00Z"),
    ("claude-opus-4-1", "Claude Opus 4.1", "2025-08-05T00:00:00Z"),
)
MODEL_MAX_INPUT_TOKENS: Final = 200_000
MODEL_MAX_TOKENS: Final = 64_000

MODEL_OVERLOADED: Final = "fake-overloaded"
MODEL_RATE_LIMITED: Final = "fake-rate-limited"
MODEL_ERROR_500: Final = "fake-error-500"
MODEL_ERROR_400: Final = "fake-error-400"
MODEL_ERROR_404: Final = "fake-error-404"
MODEL_SLOW: Final = "fake-slow"
MODEL_STREAM_ERROR: Final = "fake-stream-error"
MODEL_CACHED: Final = "fake-cached"
CACHED_INPUT_TOKENS: Final = 5

RETRY_AFTER_SECONDS: Final = 7

# API version 2026-10-21 (sent by anthropic SDK >= 2.0) rejects temperature/top_p/top_k even at
# their defaults, and non-empty ``citations`` on text blocks in user messages.
API_VERSION_2026: Final = "2026-10-21"
_SAMPLING_PARAMS: Final = ("temperature", "top_p", "top_k")
# Real block types this fake does not model (rejected with an explicit message).
_UNSUPPORTED_BLOCKS: Final = frozenset(
    {
        "document",
        "search_result",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "container_upload",
        "mcp_tool_use",
        "mcp_tool_result",
    }
)

_IMAGE_MEDIA_TYPES: Final = ("image/jpeg", "image/png", "image/gif", "image/webp")
_TOOL_CHOICE_TYPES: Final = ("auto", "any", "tool", "none")
_TOOL_NAME_RE: Final = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Top-level fields the Messages API (and its token counter) accept; anything else is rejected
# with "Extra inputs are not permitted", as the real API does.
_MESSAGES_FIELDS: Final = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "temperature",
        "top_p",
        "top_k",
        "stop_sequences",
        "stream",
        "metadata",
        "thinking",
        "service_tier",
        "cache_control",
        "container",
        "context_management",
        "diagnostics",
        "inference_geo",
        "mcp_servers",
        "output_config",
        "speed",
    }
)
_COUNT_TOKENS_FIELDS: Final = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "context_management",
        "mcp_servers",
        "output_config",
        "speed",
    }
)

_JSON_CT: Final = "application/json"
_SSE_CT: Final = "text/event-stream; charset=utf-8"

_encoder: Final = msgspec.json.Encoder()
_encode: Final = _encoder.encode


# ---------------------------------------------------------------------------------------------
# Responses
# ---------------------------------------------------------------------------------------------


def _request_id() -> str:
    return "req_" + os.urandom(12).hex()


def _error_payload(type_: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}}


def _error(
    status: int, type_: str, message: str, *, headers: dict[str, str] | None = None
) -> web.Response:
    request_id = _request_id()
    body = {**_error_payload(type_, message), "request_id": request_id}
    return web.Response(
        status=status,
        body=_encode(body),
        content_type=_JSON_CT,
        headers={"request-id": request_id, **(headers or {})},
    )


def _json(payload: object, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=_encode(payload),
        content_type=_JSON_CT,
        headers={"request-id": _request_id()},
    )


def _invalid(message: str) -> HTTPFailure:
    return HTTPFailure(_error(400, "invalid_request_error", message))


# ---------------------------------------------------------------------------------------------
# Request validation and planning (pure)
# ---------------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_text_block(block: dict[str, Any], where: str) -> str:
    text = block.get("text")
    if not isinstance(text, str):
        raise _invalid(f"{where}.text: Input should be a valid string")
    if not text:
        raise _invalid(f"{where.split('.', maxsplit=1)[0]}: text content blocks must be non-empty")
    return text


def _check_image_block(block: dict[str, Any], where: str) -> None:
    source = block.get("source")
    if not isinstance(source, dict):
        raise _invalid(f"{where}.source: Field required")
    kind = source.get("type")
    if kind == "base64":
        media_type = source.get("media_type")
        if media_type not in _IMAGE_MEDIA_TYPES:
            allowed = ", ".join(f"'{m}'" for m in _IMAGE_MEDIA_TYPES[:-1])
            raise _invalid(
                f"{where}.source.base64.media_type: Input should be {allowed} or "
                f"'{_IMAGE_MEDIA_TYPES[-1]}'"
            )
        data = source.get("data")
        if not isinstance(data, str) or not data:
            raise _invalid(f"{where}.source.base64.data: Field required")
    elif kind == "url":
        url = source.get("url")
        if not isinstance(url, str) or not url:
            raise _invalid(f"{where}.source.url.url: Field required")
    else:
        raise _invalid(
            f"{where}.source: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'base64', 'url'"
        )


def _tool_result_text(block: dict[str, Any], where: str) -> tuple[list[str], int]:
    """(echo parts, prompt words) of a ``tool_result`` block's ``content``."""
    content = block.get("content")
    if content is None:
        return [], 0
    if isinstance(content, str):
        return ([content] if content else []), count_words(content)
    if not isinstance(content, list):
        raise _invalid(f"{where}.content: Input should be a valid string or a valid list")
    parts: list[str] = []
    words = 0
    for k, item in enumerate(content):
        item_where = f"{where}.content.{k}"
        if not isinstance(item, dict):
            raise _invalid(f"{item_where}: Input should be a valid dictionary")
        kind = item.get("type")
        if kind == "text":
            text = _check_text_block(item, item_where)
            parts.append(text)
            words += count_words(text)
        elif kind == "image":
            _check_image_block(item, item_where)
            parts.append("[image]")
            words += 1
        else:
            raise _invalid(
                f"{item_where}: Input tag '{kind}' found using 'type' does not match any of the "
                "expected tags: 'text', 'image'"
            )
    return parts, words


@dataclass(slots=True)
class _Turn:
    """What one input message contributes."""

    role: str
    words: int = 0
    parts: list[str] = field(default_factory=list)  # echo material: text, [image], tool results
    has_echo: bool = False  # has text, images or tool results
    tool_use_ids: list[str] = field(default_factory=list)
    tool_results: list[tuple[int, str]] = field(default_factory=list)  # (block index, id)


def _is_new_api(version: str) -> bool:
    """Whether ``anthropic-version`` selects the 2026-10-21 (or later) request rules."""
    return version >= API_VERSION_2026


def _scan_message(index: int, message: object, is_last: bool, new_api: bool) -> _Turn:
    where = f"messages.{index}"
    if not isinstance(message, dict):
        raise _invalid(f"{where}: Input should be a valid dictionary")
    role = message.get("role")
    if role == "system":
        raise _invalid(
            'messages: Unexpected role "system". The Messages API accepts a top-level `system` '
            'parameter, not "system" as an input message role.'
        )
    if role not in ("user", "assistant"):
        raise _invalid(f"{where}.role: Input should be 'user' or 'assistant'")
    if "content" not in message:
        raise _invalid(f"{where}.content: Field required")
    content = message["content"]
    turn = _Turn(role)
    may_be_empty = role == "assistant" and is_last
    if isinstance(content, str):
        if not content and not may_be_empty:
            raise _invalid(
                f"{where}: all messages must have non-empty content except for the optional "
                "final assistant message"
            )
        if content:
            turn.parts.append(content)
            turn.words += count_words(content)
            turn.has_echo = True
    elif isinstance(content, list):
        if not content and not may_be_empty:
            raise _invalid(
                f"{where}: all messages must have non-empty content except for the optional "
                "final assistant message"
            )
        for j, block in enumerate(content):
            _scan_block(turn, f"{where}.content.{j}", j, block, new_api)
    else:
        raise _invalid(f"{where}.content: Input should be a valid string or a valid list")
    if role == "assistant" and is_last and turn.parts and turn.parts[-1] != turn.parts[-1].rstrip():
        raise _invalid("messages: final assistant content cannot end with trailing whitespace")
    return turn


def _scan_block(turn: _Turn, where: str, j: int, block: object, new_api: bool) -> None:
    if not isinstance(block, dict):
        raise _invalid(f"{where}: Input should be a valid dictionary")
    kind = block.get("type")
    if kind == "text":
        if new_api and turn.role == "user" and block.get("citations"):
            raise _invalid(
                f"{where}.citations: citations are not accepted on text blocks in user messages"
            )
        text = _check_text_block(block, where)
        turn.parts.append(text)
        turn.words += count_words(text)
        turn.has_echo = True
    elif kind == "image":
        _check_image_block(block, where)
        turn.parts.append("[image]")
        turn.words += 1
        turn.has_echo = True
    elif kind == "tool_use":
        if turn.role != "assistant":
            raise _invalid(f"{where}: tool_use blocks can only be in assistant messages")
        tool_id, name, tool_input = block.get("id"), block.get("name"), block.get("input")
        if not isinstance(tool_id, str) or not tool_id:
            raise _invalid(f"{where}.id: Field required")
        if not isinstance(name, str) or not name:
            raise _invalid(f"{where}.name: Field required")
        if not isinstance(tool_input, dict):
            raise _invalid(f"{where}.input: Input should be a valid dictionary")
        turn.tool_use_ids.append(tool_id)
        turn.words += count_words(_tool_input_json(tool_input))
    elif kind == "tool_result":
        if turn.role != "user":
            raise _invalid(f"{where}: tool_result blocks can only be in user messages")
        tool_use_id = block.get("tool_use_id")
        if not isinstance(tool_use_id, str) or not tool_use_id:
            raise _invalid(f"{where}.tool_use_id: Field required")
        is_error = block.get("is_error")
        if is_error is not None and not isinstance(is_error, bool):
            raise _invalid(f"{where}.is_error: Input should be a valid boolean")
        parts, words = _tool_result_text(block, where)
        turn.parts.extend(parts)
        turn.words += words
        turn.has_echo = True
        turn.tool_results.append((j, tool_use_id))
    elif kind in ("thinking", "redacted_thinking") and turn.role == "assistant":
        pass  # replayed reasoning: accepted, contributes nothing
    elif kind in _UNSUPPORTED_BLOCKS:
        raise _invalid(f"{where}: the fake Anthropic upstream does not support '{kind}' blocks")
    else:
        raise _invalid(
            f"{where}: Input tag '{kind}' found using 'type' does not match any of the expected "
            "tags: 'text', 'image', 'tool_use', 'tool_result'"
        )


def _tool_input_json(tool_input: dict[str, Any]) -> str:
    """Tool input as JSON text, as streamed and counted (``", "`` and ``": "`` separators)."""
    return json.dumps(tool_input, ensure_ascii=False)


def _check_tool_pairing(turns: list[_Turn]) -> None:
    """Every ``tool_result`` answers a ``tool_use`` of the previous (assistant) message, and every
    ``tool_use`` that is not in the final message is answered in the next message."""
    for i, turn in enumerate(turns):
        previous = turns[i - 1].tool_use_ids if i > 0 and turns[i - 1].role == "assistant" else []
        for j, tool_use_id in turn.tool_results:
            if tool_use_id not in previous:
                raise _invalid(
                    f"messages.{i}.content.{j}: unexpected `tool_use_id` found in `tool_result` "
                    f"blocks: {tool_use_id}. Each `tool_result` block must have a corresponding "
                    "`tool_use` block in the previous message."
                )
    for i, turn in enumerate(turns[:-1]):
        answered = {tool_use_id for _, tool_use_id in turns[i + 1].tool_results}
        missing = [t for t in turn.tool_use_ids if t not in answered]
        if missing:
            raise _invalid(
                f"messages.{i + 1}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {', '.join(missing)}. Each `tool_use` block must have a "
                "corresponding `tool_result` block in the next message."
            )


def _system_words(system: object) -> int:
    if system is None:
        return 0
    if isinstance(system, str):
        return count_words(system)
    if not isinstance(system, list):
        raise _invalid("system: Input should be a valid string or a valid list")
    words = 0
    for i, block in enumerate(system):
        where = f"system.{i}"
        if not isinstance(block, dict):
            raise _invalid(f"{where}: Input should be a valid dictionary")
        if block.get("type") != "text":
            raise _invalid(f"{where}.type: Input should be 'text'")
        words += count_words(_check_text_block(block, where))
    return words


def _tool_names(tools: object) -> list[str]:
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise _invalid("tools: Input should be a valid list")
    names: list[str] = []
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if not isinstance(tool, dict):
            raise _invalid(f"{where}: Input should be a valid dictionary")
        if tool.get("type", "custom") not in ("custom", None):
            raise _invalid(f"{where}.type: the fake Anthropic upstream only supports custom tools")
        name = tool.get("name")
        if not isinstance(name, str):
            raise _invalid(f"{where}.custom.name: Field required")
        if not _TOOL_NAME_RE.fullmatch(name):
            raise _invalid(
                f"{where}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
            )
        description = tool.get("description")
        if description is not None and not isinstance(description, str):
            raise _invalid(f"{where}.custom.description: Input should be a valid string")
        if "input_schema" not in tool:
            raise _invalid(f"{where}.custom.input_schema: Field required")
        schema = tool["input_schema"]
        if not isinstance(schema, dict):
            raise _invalid(f"{where}.custom.input_schema: Input should be a valid dictionary")
        if schema.get("type") != "object":
            raise _invalid(f"{where}.custom.input_schema.type: Input should be 'object'")
        if name in names:
            raise _invalid("tools: Tool names must be unique.")
        names.append(name)
    return names


def _chosen_tool(choice: object, names: list[str]) -> str | None:
    """Name of the tool the reply would call (ignoring the conversation), or None."""
    if choice is None:
        choice = {"type": "auto"}
    if not isinstance(choice, dict):
        raise _invalid("tool_choice: Input should be a valid dictionary")
    kind = choice.get("type")
    if kind not in _TOOL_CHOICE_TYPES:
        raise _invalid(
            f"tool_choice: Input tag '{kind}' found using 'type' does not match any of the "
            "expected tags: 'auto', 'any', 'tool', 'none'"
        )
    parallel = choice.get("disable_parallel_tool_use")
    if parallel is not None and not isinstance(parallel, bool):
        raise _invalid(f"tool_choice.{kind}.disable_parallel_tool_use: Input should be a boolean")
    if kind in ("any", "tool") and not names:
        raise _invalid("tool_choice: tool_choice may only be specified while providing tools.")
    if kind == "tool":
        name = choice.get("name")
        if not isinstance(name, str) or not name:
            raise _invalid("tool_choice.tool.name: Field required")
        if name not in names:
            raise _invalid(f"tool_choice.tool.name: Tool '{name}' not found in provided tools")
        return name
    if kind == "none" or not names:
        return None
    return names[0]


def _forced_tool(choice: object, names: list[str]) -> str | None:
    """The tool a forced choice (validated by `_chosen_tool`) calls whatever the turn."""
    if not isinstance(choice, dict) or not names:
        return None
    if choice.get("type") == "tool":
        return str(choice["name"])
    return names[-1] if choice.get("type") == "any" else None


def _check_sampling(body: dict[str, Any], new_api: bool) -> None:
    if new_api:
        for name in _SAMPLING_PARAMS:
            if name in body:
                raise _invalid(f"{name}: Extra inputs are not permitted")
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is None:
            continue
        if not _is_number(value):
            raise _invalid(f"{name}: Input should be a valid number")
        if not 0.0 <= value <= 1.0:
            raise _invalid(f"{name}: range: 0..1")
    top_k = body.get("top_k")
    if top_k is not None and (type(top_k) is not int or top_k < 0):
        raise _invalid("top_k: Input should be greater than or equal to 0")
    metadata = body.get("metadata")
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise _invalid("metadata: Input should be a valid dictionary")
        for key, value in metadata.items():
            if key != "user_id":
                raise _invalid(f"metadata.{key}: Extra inputs are not permitted")
            if value is not None and not isinstance(value, str):
                raise _invalid("metadata.user_id: Input should be a valid string")


def _stop_sequences(body: dict[str, Any]) -> list[str]:
    raw = body.get("stop_sequences")
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
        raise _invalid("stop_sequences: Input should be a valid list of strings")
    if any(not s.strip() for s in raw):
        raise _invalid("stop_sequences: each stop sequence must contain non-whitespace")
    return raw


@dataclass(slots=True)
class _Conversation:
    """The validated parts of a Messages (or count_tokens) request that shape the reply."""

    model: str
    input_words: int
    last_user_text: str
    last_user_has_tool_result: bool
    tool_name: str | None  # tool the reply would call if the conversation allows it
    tool_after_result: str | None  # tool a forced choice calls after a tool result
    tool_schemas: dict[str, Any]


def _parse_conversation(body: object, *, allowed: frozenset[str], new_api: bool) -> _Conversation:
    if not isinstance(body, dict):
        raise _invalid("Request body must be a JSON object")
    for key in body:
        if key not in allowed:
            raise _invalid(f"{key}: Extra inputs are not permitted")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("model: Field required")
    messages = body.get("messages")
    if messages is None:
        raise _invalid("messages: Field required")
    if not isinstance(messages, list):
        raise _invalid("messages: Input should be a valid list")
    if not messages:
        raise _invalid("messages: at least one message is required")

    last = len(messages) - 1
    turns = [_scan_message(i, m, i == last, new_api) for i, m in enumerate(messages)]
    if turns[0].role != "user":
        raise _invalid('messages: first message must use the "user" role')
    _check_tool_pairing(turns)

    input_words = _system_words(body.get("system")) + sum(t.words for t in turns)
    echo_turn = next((t for t in reversed(turns) if t.role == "user" and t.has_echo), None)
    last_user = next(t for t in reversed(turns) if t.role == "user")
    names = _tool_names(body.get("tools"))
    return _Conversation(
        model=model,
        input_words=input_words,
        last_user_text=" ".join(echo_turn.parts) if echo_turn is not None else "",
        last_user_has_tool_result=bool(last_user.tool_results),
        tool_name=_chosen_tool(body.get("tool_choice"), names),
        tool_after_result=_forced_tool(body.get("tool_choice"), names),
        tool_schemas={tool["name"]: tool["input_schema"] for tool in body.get("tools") or []},
    )


def _usage(model: str, input_words: int, output_tokens: int) -> dict[str, Any]:
    total = max(input_words, 1)
    cached = CACHED_INPUT_TOKENS if model == MODEL_CACHED else 0
    return {
        "input_tokens": max(total - cached, 1) if cached else total,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": cached,
        "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


@dataclass(slots=True)
class _MessagePlan:
    """Everything needed to render a message, streamed or not."""

    model: str
    stream: bool
    pieces: list[str]  # reply text pieces (text mode) or partial_json pieces (tool mode)
    stop_reason: str
    stop_sequence: str | None
    input_words: int
    output_tokens: int
    tool_name: str | None
    tool_use_id: str | None
    tool_input: dict[str, Any] | None

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    def usage(self, output_tokens: int | None = None) -> dict[str, Any]:
        return _usage(
            self.model,
            self.input_words,
            self.output_tokens if output_tokens is None else output_tokens,
        )

    def content(self) -> list[dict[str, Any]]:
        if self.tool_name is not None:
            return [
                {
                    "type": "tool_use",
                    "id": self.tool_use_id,
                    "name": self.tool_name,
                    "input": self.tool_input,
                }
            ]
        return [{"type": "text", "text": self.text}]


def _apply_stop_sequences(text: str, stops: list[str]) -> tuple[str, str | None]:
    """Cut ``text`` at the earliest stop sequence (the longest one on ties)."""
    best: tuple[int, int, str] | None = None
    for stop in stops:
        at = text.find(stop)
        if at >= 0 and (best is None or (at, -len(stop)) < (best[0], best[1])):
            best = (at, -len(stop), stop)
    if best is None:
        return text, None
    return text[: best[0]], best[2]


def _plan_message(body: object, *, new_api: bool) -> _MessagePlan:
    convo = _parse_conversation(body, allowed=_MESSAGES_FIELDS, new_api=new_api)
    assert isinstance(body, dict)  # checked by _parse_conversation
    if "max_tokens" not in body:
        raise _invalid("max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if type(max_tokens) is not int:
        raise _invalid("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise _invalid("max_tokens: Input should be greater than or equal to 1")
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise _invalid("stream: Input should be a valid boolean")
    _check_sampling(body, new_api)
    stops = _stop_sequences(body)

    tool_name = convo.tool_after_result if convo.last_user_has_tool_result else convo.tool_name
    if tool_name is not None:
        tool_input = sample(convo.tool_schemas.get(tool_name), convo.last_user_text)
        arguments = _tool_input_json(tool_input)
        digest = hashlib.sha256(f"{tool_name}\0{arguments}".encode()).hexdigest()
        return _MessagePlan(
            model=convo.model,
            stream=stream,
            pieces=chat_pieces(arguments),
            stop_reason="tool_use",
            stop_sequence=None,
            input_words=convo.input_words,
            output_tokens=count_words(arguments),
            tool_name=tool_name,
            tool_use_id="toolu_" + digest[:24],
            tool_input=tool_input,
        )

    text, stop_sequence = _apply_stop_sequences("Echo: " + convo.last_user_text, stops)
    stop_reason = "end_turn" if stop_sequence is None else "stop_sequence"
    pieces = chat_pieces(text)
    if max_tokens < len(pieces):
        pieces = pieces[:max_tokens]
        pieces[-1] = pieces[-1].rstrip()
        stop_reason, stop_sequence = "max_tokens", None
    return _MessagePlan(
        model=convo.model,
        stream=stream,
        pieces=pieces,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_words=convo.input_words,
        output_tokens=count_words("".join(pieces)),
        tool_name=None,
        tool_use_id=None,
        tool_input=None,
    )


# ---------------------------------------------------------------------------------------------
# Request handling
# ---------------------------------------------------------------------------------------------


def _api_key(request: web.Request) -> str | None:
    """The ``x-api-key`` header, else the ``Authorization: Bearer`` token."""
    key = request.headers.get("x-api-key", "").strip()
    if key:
        return key
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def _prelude(request: web.Request) -> Any:
    """Record the request, check auth, version header and body. Returns the parsed body."""
    body, ok = await read_json(request)
    log_request(request, body)
    key = _api_key(request)
    if key is None:
        raise HTTPFailure(_error(401, "authentication_error", "x-api-key header is required"))
    expected = request.app.get(EXPECTED_KEY)
    if expected is not None and key != expected:
        raise HTTPFailure(_error(401, "authentication_error", "invalid x-api-key"))
    if not request.headers.get("anthropic-version"):
        raise _invalid("anthropic-version: header is required")
    if request.method == "POST" and not ok:
        raise _invalid(
            "There was an error parsing the body of your request. Please make sure it is valid "
            "JSON."
        )
    return body


async def _special_model(request: web.Request, model: str) -> None:
    """Raise the configured failure for special model names; sleep for ``fake-slow``."""
    if model == MODEL_OVERLOADED:
        raise HTTPFailure(_error(529, "overloaded_error", "Overloaded"))
    if model == MODEL_RATE_LIMITED:
        reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=RETRY_AFTER_SECONDS)
        raise HTTPFailure(
            _error(
                429,
                "rate_limit_error",
                "This request would exceed the rate limit for your organization of 50 requests "
                "per minute. Please try again later.",
                headers={
                    "retry-after": str(RETRY_AFTER_SECONDS),
                    "anthropic-ratelimit-requests-limit": "50",
                    "anthropic-ratelimit-requests-remaining": "0",
                    "anthropic-ratelimit-requests-reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
                },
            )
        )
    if model == MODEL_ERROR_500:
        raise HTTPFailure(_error(500, "api_error", "Internal server error"))
    if model == MODEL_ERROR_400:
        raise _invalid("messages: the fake-error-400 model rejects every request")
    if model == MODEL_ERROR_404:
        raise HTTPFailure(_error(404, "not_found_error", f"model: {model}"))
    if model == MODEL_SLOW:
        await asyncio.sleep(request.app[SLOW_SECONDS])


async def _messages(request: web.Request) -> web.StreamResponse:
    body = await _prelude(request)
    plan = _plan_message(body, new_api=_is_new_api(request.headers["anthropic-version"]))
    await _special_model(request, plan.model)
    message_id = "msg_" + os.urandom(12).hex()
    if plan.stream:
        return await _stream_message(request, plan, message_id)
    return _json(
        {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": plan.content(),
            "stop_reason": plan.stop_reason,
            "stop_sequence": plan.stop_sequence,
            "usage": plan.usage(),
        }
    )


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + _encode(data) + b"\n\n"


def _stream_events(plan: _MessagePlan) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, data) for every SSE event after ``message_start``, in order."""
    if plan.tool_name is not None:
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": plan.tool_use_id,
            "name": plan.tool_name,
            "input": {},
        }
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in plan.pieces]
    else:
        block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in plan.pieces]
    yield "content_block_start", {"type": "content_block_start", "index": 0, "content_block": block}
    yield "ping", {"type": "ping"}
    for delta in deltas:
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": 0}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence},
            "usage": {"output_tokens": plan.output_tokens},
        },
    )
    yield "message_stop", {"type": "message_stop"}


async def _stream_message(
    request: web.Request, plan: _MessagePlan, message_id: str
) -> web.StreamResponse:
    response = web.StreamResponse(
        status=200,
        headers={"Content-Type": _SSE_CT, "Cache-Control": "no-cache", "request-id": _request_id()},
    )
    await response.prepare(request)
    start = {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": plan.usage(output_tokens=1),
        },
    }
    try:
        await response.write(_sse("message_start", start))
        if plan.model == MODEL_STREAM_ERROR:
            await response.write(_sse("error", _error_payload("overloaded_error", "Overloaded")))
        else:
            for event, data in _stream_events(plan):
                await response.write(_sse(event, data))
        await response.write_eof()
    except ConnectionError:
        pass  # client went away mid-stream
    return response


async def _count_tokens(request: web.Request) -> web.StreamResponse:
    body = await _prelude(request)
    new_api = _is_new_api(request.headers["anthropic-version"])
    convo = _parse_conversation(body, allowed=_COUNT_TOKENS_FIELDS, new_api=new_api)
    await _special_model(request, convo.model)
    return _json({"input_tokens": max(convo.input_words, 1)})


def _model_object(model_id: str, display_name: str, created_at: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": display_name,
        "created_at": created_at,
        "lifecycle": "active",
        "max_input_tokens": MODEL_MAX_INPUT_TOKENS,
        "max_tokens": MODEL_MAX_TOKENS,
    }


async def _list_models(request: web.Request) -> web.StreamResponse:
    await _prelude(request)
    ids = [m[0] for m in MODELS]
    raw_limit = request.query.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        raise _invalid("limit: Input should be greater than or equal to 1 and at most 1000")
    limit = int(raw_limit)
    after, before = request.query.get("after_id"), request.query.get("before_id")
    if before is not None:  # the page that ends just before ``before_id``
        end = ids.index(before) if before in ids else len(ids)
        start = max(end - limit, 0)
        has_more = start > 0
    else:  # the page that starts just after ``after_id``
        start = ids.index(after) + 1 if after in ids else 0
        end = min(start + limit, len(ids))
        has_more = end < len(ids)
    window = MODELS[start:end]
    return _json(
        {
            "data": [_model_object(*m) for m in window],
            "has_more": has_more,
            "first_id": window[0][0] if window else None,
            "last_id": window[-1][0] if window else None,
        }
    )


async def _retrieve_model(request: web.Request) -> web.StreamResponse:
    await _prelude(request)
    model_id = request.match_info["model"]
    for model in MODELS:
        if model[0] == model_id:
            return _json(_model_object(*model))
    return _error(404, "not_found_error", f"model: {model_id}")


async def _not_found(request: web.Request) -> web.StreamResponse:
    await _prelude(request)
    return _error(404, "not_found_error", "Not Found")


def create_app(
    expected_key: str | None = None,
    *,
    record: bool = True,
    slow_seconds: float = DEFAULT_SLOW_SECONDS,
    request_log: RequestLog[Any] | None = None,
) -> web.Application:
    """Build the fake Anthropic application.

    ``expected_key``: if set, any other key (``x-api-key`` or bearer) gets 401.
    ``record``: keep a :class:`RequestLog` in ``app[REQUEST_LOG]`` (``request_log`` if given).
    ``slow_seconds``: delay used by ``fake-slow``.
    """
    app = new_app(expected_key, record=record, slow_seconds=slow_seconds, request_log=request_log)
    app.router.add_post("/v1/messages", guarded(_messages))
    app.router.add_post("/v1/messages/count_tokens", guarded(_count_tokens))
    app.router.add_get("/v1/models", guarded(_list_models))
    app.router.add_get("/v1/models/{model}", guarded(_retrieve_model))
    app.router.add_route("*", "/v1/{tail:.*}", guarded(_not_found))
    return app


# ---------------------------------------------------------------------------------------------
# Background-thread runner and CLI
# ---------------------------------------------------------------------------------------------


class FakeAnthropic(FakeServer[RecordedRequest]):
    """:func:`create_app` served by :class:`FakeServer` (``with FakeAnthropic() as fake:`` or
    ``async with``). :attr:`base_url` is ``http://host:port`` without ``/v1`` (the Anthropic SDK
    appends ``/v1/...``)."""

    app_factory = staticmethod(create_app)
    thread_name = "fake-anthropic"


def main(argv: list[str] | None = None) -> None:
    run_main(
        argv,
        prog="python -m tests.fakes.anthropic_upstream",
        description="Fake Anthropic upstream server.",
        default_port=9101,
        key_help="only accept this API key",
        create_app=create_app,
        banner="fake Anthropic upstream listening on http://{host}:{port}",
    )


if __name__ == "__main__":
    main()
