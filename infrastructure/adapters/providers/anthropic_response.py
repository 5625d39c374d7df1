"""Anthropic Messages answers → OpenAI shapes, as pure functions: a whole message, stop reasons,
usage, and error bodies. Tolerant: upstream junk degrades to defaults, never to an exception."""

from __future__ import annotations

import json
from typing import Any

import msgspec

from domains.providers.model import answered_model
from domains.providers.ports import Usage
from domains.providers.upstream_failures import Condition, condition_of_status
from infrastructure.adapters.providers.error_reading import says_context_too_long

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def finish_reason(stop_reason: str | None) -> str | None:
    """OpenAI's finish_reason for an Anthropic stop_reason (an unknown one counts as "stop")."""
    if stop_reason is None:
        return None
    return _FINISH.get(stop_reason, "stop")


def count(raw: Any, key: str) -> int | None:
    value = raw.get(key) if isinstance(raw, dict) else None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return None


def usage_of(raw: Any) -> Usage:
    """Anthropic's `input_tokens` excludes cache reads and writes; OpenAI's prompt_tokens (and the
    gateway's input_tokens) include them, with the cache reads also reported as cached.

    Cache writes: `cache_creation.ephemeral_5m_input_tokens` and `ephemeral_1h_input_tokens`
    where Anthropic breaks them down; what `cache_creation_input_tokens` counts beyond that
    breakdown (all of it, without one) was written for 5 minutes, the default. Thinking is part
    of `output_tokens`, which Anthropic does not break down: no reasoning tokens are told apart.
    """
    cache_read = count(raw, "cache_read_input_tokens") or 0
    creation = _dict(raw).get("cache_creation")
    write_5m = count(creation, "ephemeral_5m_input_tokens") or 0
    write_1h = count(creation, "ephemeral_1h_input_tokens") or 0
    written = count(raw, "cache_creation_input_tokens") or 0
    write_5m += max(written - write_5m - write_1h, 0)
    return Usage(
        input_tokens=(count(raw, "input_tokens") or 0) + cache_read + write_5m + write_1h,
        output_tokens=count(raw, "output_tokens") or 0,
        cached_tokens=cache_read,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


THINKING_CHARS_PER_TOKEN = 4


def thinking_tokens(chars: int, usage: Usage) -> int:
    """An estimate of the reasoning tokens of an answer whose thinking text has `chars`
    characters (4 a token, within its output tokens): Anthropic counts thinking inside
    `output_tokens` without telling it apart. What a model thought but did not show (a
    summarized, omitted or redacted thinking) is not in it."""
    return min(-(-max(chars, 0) // THINKING_CHARS_PER_TOKEN), usage.output_tokens)


def openai_usage(usage: Usage, thinking_chars: int = 0) -> dict[str, Any]:
    """OpenAI's usage object; `completion_tokens_details.reasoning_tokens` is the estimate of
    `thinking_tokens` (the gateway's own `Usage` keeps Anthropic's counts: no reasoning part)."""
    return {
        "prompt_tokens": usage.input_tokens,
        "completion_tokens": usage.output_tokens,
        "total_tokens": usage.input_tokens + usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
        "completion_tokens_details": {"reasoning_tokens": thinking_tokens(thinking_chars, usage)},
    }


def thinking_block(block: dict[str, Any]) -> dict[str, Any] | None:
    """A thinking (or redacted thinking) content block as the chat answer's `thinking_blocks`
    carry it, None when it is not one."""
    kind = block.get("type")
    if kind == "thinking":
        text, signature = block.get("thinking"), block.get("signature")
        return {
            "type": "thinking",
            "thinking": text if isinstance(text, str) else "",
            "signature": signature if isinstance(signature, str) else "",
        }
    if kind == "redacted_thinking" and isinstance(block.get("data"), str):
        return {"type": "redacted_thinking", "data": block["data"]}
    return None


def arguments_json(value: Any) -> str:
    """A tool call's input as OpenAI's `arguments`: compact JSON of an object."""
    return json.dumps(value if value is not None else {}, separators=(",", ":"), ensure_ascii=False)


def chat_response(
    message: dict[str, Any],
    *,
    model: str,
    created: int,
    completion_id: str | None = None,
    answer_tool: str | None = None,
) -> tuple[dict[str, Any], Usage]:
    """An Anthropic message → an OpenAI `chat.completion`. A call of `answer_tool` (the
    structured output, see `anthropic_structured`) is the content: its input as JSON text, with
    finish_reason "stop" unless other tools were called too. Thinking is the message's
    `reasoning_content` (its text) and `thinking_blocks` (the blocks with their signatures, to
    send back with the next turn), as LiteLLM and vLLM answer."""
    texts: list[str] = []
    answers: list[str] = []
    calls: list[dict[str, Any]] = []
    thoughts: list[dict[str, Any]] = []
    content = message.get("content")
    for block in content if isinstance(content, list) else ():
        kind = block.get("type") if isinstance(block, dict) else None
        thought = thinking_block(block) if isinstance(block, dict) else None
        if thought is not None:
            thoughts.append(thought)
        elif kind == "text" and isinstance(block.get("text"), str):
            texts.append(block["text"])
        elif kind == "tool_use" and answer_tool is not None and block.get("name") == answer_tool:
            answers.append(arguments_json(block.get("input")))
        elif kind == "tool_use":
            calls.append(tool_call(block))
    texts = answers[:1] or texts  # words around a structured answer would break its JSON
    reply: dict[str, Any] = {
        "role": "assistant",
        "content": "".join(texts) if texts else None,
        "refusal": None,
    }
    if calls:
        reply["tool_calls"] = calls
    thinking = "".join(str(block.get("thinking", "")) for block in thoughts)
    if thoughts:
        reply["reasoning_content"] = thinking
        reply["thinking_blocks"] = thoughts
    stop = message.get("stop_reason")
    if stop == "tool_use" and answers and not calls:
        stop = "end_turn"
    usage = usage_of(message.get("usage"))
    message_id = message.get("id")
    body = {
        "id": completion_id or (message_id if isinstance(message_id, str) else "chatcmpl"),
        "object": "chat.completion",
        "created": created,
        "model": answered_model(message.get("model"), model),
        "choices": [
            {
                "index": 0,
                "message": reply,
                "logprobs": None,
                # a complete message always has a reason; a missing one is a normal stop
                "finish_reason": finish_reason(stop if isinstance(stop, str) else None) or "stop",
            }
        ],
        "usage": openai_usage(usage, len(thinking)),
    }
    return body, usage


def tool_call(block: dict[str, Any]) -> dict[str, Any]:
    call_id, name = block.get("id"), block.get("name")
    return {
        "id": call_id if isinstance(call_id, str) else "",
        "type": "function",
        "function": {
            "name": name if isinstance(name, str) else "",
            "arguments": arguments_json(block.get("input")),
        },
    }


# --- errors ------------------------------------------------------------------------------------


class _ErrorDetail(msgspec.Struct):
    type: str | None = None
    message: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _ErrorDetail | None = None


_error_decoder = msgspec.json.Decoder(_ErrorBody)

_BY_TYPE = {
    "overloaded_error": Condition.OVERLOADED,
    "rate_limit_error": Condition.RATE_LIMITED,
    "authentication_error": Condition.CREDENTIALS_REFUSED,
    "permission_error": Condition.CREDENTIALS_REFUSED,
    "not_found_error": Condition.MODEL_NOT_FOUND,
    "request_too_large": Condition.REQUEST_TOO_LARGE,
    "timeout_error": Condition.TIMEOUT,
    "api_error": Condition.SERVER_ERROR,
    "billing_error": Condition.SERVER_ERROR,  # the gateway's account, not the caller's request
}


def classify(status: int, anthropic_type: str | None, message: str = "") -> Condition:
    """The condition of an Anthropic error, by its type (also in a stream, where there is no
    status), else by its status."""
    condition = _BY_TYPE.get(anthropic_type or "") or condition_of_status(status)
    if condition is Condition.INVALID_REQUEST and says_context_too_long(message):
        return Condition.CONTEXT_LENGTH_EXCEEDED
    return condition


def error_facts(status: int, body: bytes) -> tuple[Condition, str]:
    """(condition, message) of an Anthropic error answer, i.e.
    `{"type": "error", "error": {"type", "message"}}`, or of any junk. Never raises."""
    try:
        detail = _error_decoder.decode(body).error
    except (msgspec.DecodeError, RecursionError):  # ValidationError is a DecodeError
        detail = None
    if detail is None:
        text = body[:500].decode("utf-8", "replace").strip()
        anthropic_type, message = None, text or f"upstream error (HTTP {status})"
    else:
        anthropic_type = detail.type
        message = detail.message or f"upstream error (HTTP {status})"
    return classify(status, anthropic_type, message), message
