"""Reading a Gemini API v1beta answer (pure, never raises): finish reasons, usage, the texts and
function calls of a candidate, tool call ids. Shared by the whole-response and stream
translators."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import msgspec

from domains.providers.ports import Usage

# Every Gemini FinishReason that means "the output was withheld or cut by a filter".
_FILTERED = frozenset(
    {
        "SAFETY",
        "RECITATION",
        "BLOCKLIST",
        "PROHIBITED_CONTENT",
        "SPII",
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION",
    }
)
_encoder = msgspec.json.Encoder()


def finish_reason(reason: str | None) -> str | None:
    """OpenAI's finish_reason for a Gemini FinishReason.

    STOP → stop, MAX_TOKENS → length, the safety/recitation/blocklist family → content_filter.
    Everything else (MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, OTHER, LANGUAGE, unknown
    future values...) → stop: OpenAI has no closer value, and the output received so far is
    still delivered as it is. None (not finished yet) → None.
    """
    if not reason:
        return None
    if reason == "MAX_TOKENS":
        return "length"
    if reason in _FILTERED:
        return "content_filter"
    return "stop"


def call_id(completion_id: str, index: int) -> str:
    """The id of the index-th tool call of a completion: deterministic, `call_` + 24 hex."""
    return "call_" + hashlib.sha256(f"{completion_id}:{index}".encode()).hexdigest()[:24]


def _count(metadata: Mapping[str, Any], key: str) -> int:
    value = metadata.get(key)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 19:
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def openai_usage(metadata: Any) -> tuple[dict[str, Any], Usage]:
    """A Gemini usageMetadata as OpenAI's usage object and the gateway's Usage.

    `promptTokenCount` already includes the cached ones (`cachedContentTokenCount`); tool-use
    prompts (`toolUsePromptTokenCount`: what a built-in tool such as search brought into the
    prompt) are input too. Thinking tokens (`thoughtsTokenCount`), which Gemini counts apart
    from `candidatesTokenCount`, are output tokens (billed as such) and the reasoning tokens.
    Gemini writes no cache during a call: an explicit cache is made and billed apart."""
    metadata = metadata if isinstance(metadata, Mapping) else {}
    prompt = _count(metadata, "promptTokenCount") + _count(metadata, "toolUsePromptTokenCount")
    thoughts = _count(metadata, "thoughtsTokenCount")
    completion = _count(metadata, "candidatesTokenCount") + thoughts
    cached = min(_count(metadata, "cachedContentTokenCount"), prompt)
    body = {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
        "completion_tokens_details": {"reasoning_tokens": thoughts},
    }
    usage = Usage(
        input_tokens=prompt,
        output_tokens=completion,
        cached_tokens=cached,
        reasoning_tokens=thoughts,
    )
    return body, usage


def _compact_json(value: Any) -> str:
    try:
        return _encoder.encode({} if value is None else value).decode()
    except (TypeError, ValueError, OverflowError, RecursionError, msgspec.EncodeError):
        return "{}"


def candidate_index(candidate: Mapping[str, Any]) -> int | None:
    """The candidate's `index`; None when absent (proto3 JSON leaves out a 0)."""
    index = candidate.get("index")
    return index if isinstance(index, int) and not isinstance(index, bool) and index >= 0 else None


def candidate_parts(candidate: Mapping[str, Any]) -> tuple[list[str], list[tuple[str, str]]]:
    """The answer texts (thought summaries left out) and the (name, JSON arguments) of the
    function calls of one candidate."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, Mapping) else None
    texts: list[str] = []
    calls: list[tuple[str, str]] = []
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, Mapping) or part.get("thought") is True:
            continue
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        call = part.get("functionCall")
        if isinstance(call, Mapping) and isinstance(call.get("name"), str):
            calls.append((call["name"], _compact_json(call.get("args"))))
    return texts, calls


def candidate_thoughts(candidate: Mapping[str, Any]) -> str:
    """The thought summaries of one candidate (its parts marked `thought: true`), joined."""
    content = candidate.get("content")
    parts = content.get("parts") if isinstance(content, Mapping) else None
    return "".join(
        part["text"]
        for part in (parts if isinstance(parts, list) else ())
        if isinstance(part, Mapping)
        and part.get("thought") is True
        and isinstance(part.get("text"), str)
    )


def blocked(response: Mapping[str, Any]) -> bool:
    """Whether the prompt itself was blocked (then Gemini sends no candidate)."""
    feedback = response.get("promptFeedback")
    return isinstance(feedback, Mapping) and bool(feedback.get("blockReason"))
