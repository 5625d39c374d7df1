"""Whole Gemini API v1beta answers → OpenAI shapes (pure): a GenerateContentResponse as a
`chat.completion`, a batchEmbedContents answer as an embeddings list."""

from __future__ import annotations

import base64 as b64
import itertools
import math
import struct
from typing import Any

from domains.providers.model import answered_model
from domains.providers.ports import Usage
from infrastructure.adapters.providers.gemini_answer import (
    blocked,
    call_id,
    candidate_index,
    candidate_parts,
    candidate_thoughts,
    finish_reason,
    openai_usage,
)

_FLOAT32_MAX = 3.4028234663852886e38


def _choice(index: int, message: dict[str, Any], reason: str) -> dict[str, Any]:
    """A choice as OpenAI's: `logprobs` (never asked of Gemini) and the message's `refusal`
    are there, null."""
    return {"index": index, "message": message, "logprobs": None, "finish_reason": reason}


def chat_response(
    resp: dict[str, Any], *, model: str, created: int, completion_id: str
) -> tuple[dict[str, Any], Usage]:
    """A GenerateContentResponse as an OpenAI `chat.completion`, and its usage. Thought
    summaries (parts marked `thought`) are the message's `reasoning_content`."""
    usage_body, usage = openai_usage(resp.get("usageMetadata"))
    choices: list[dict[str, Any]] = []
    calls_so_far = 0  # tool call ids are numbered across the response, as in the stream
    candidates = resp.get("candidates")
    candidates = (
        [c for c in candidates if isinstance(c, dict)] if isinstance(candidates, list) else []
    )
    claimed = {candidate_index(c) for c in candidates}
    unclaimed = (i for i in itertools.count() if i not in claimed)
    for candidate in candidates:
        texts, calls = candidate_parts(candidate)
        tool_calls = [
            {
                "id": call_id(completion_id, calls_so_far + k),
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for k, (name, arguments) in enumerate(calls)
        ]
        calls_so_far += len(calls)
        raw_reason = candidate.get("finishReason")
        reason = finish_reason(raw_reason if isinstance(raw_reason, str) else None) or "stop"
        if tool_calls and reason == "stop":
            reason = "tool_calls"
        if texts:
            content: str | None = "".join(texts)
        else:
            content = None if tool_calls or reason == "content_filter" else ""
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if tool_calls:
            message["tool_calls"] = tool_calls
        if thoughts := candidate_thoughts(candidate):
            message["reasoning_content"] = thoughts
        index = candidate_index(candidate)
        index = next(unclaimed) if index is None else index  # a missing index is a 0 first
        choices.append(_choice(index, message, reason))
    if not choices:  # the prompt was blocked, or Gemini answered nothing at all
        refused = blocked(resp)
        message = {"role": "assistant", "content": None if refused else "", "refusal": None}
        choices.append(_choice(0, message, "content_filter" if refused else "stop"))
    choices.sort(key=lambda choice: int(choice["index"]))
    body = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": answered_model(resp.get("modelVersion"), model),
        "choices": choices,
        "usage": usage_body,
    }
    return body, usage


def _floats(values: Any) -> list[float]:
    if not isinstance(values, list):
        return []
    return [
        float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0 for v in values
    ]


def _base64_float32(values: list[float]) -> str:
    clamped = [  # a finite double beyond float32's range cannot be packed
        math.copysign(_FLOAT32_MAX, v) if math.isfinite(v) and abs(v) > _FLOAT32_MAX else v
        for v in values
    ]
    return b64.b64encode(struct.pack(f"<{len(clamped)}f", *clamped)).decode()


def embeddings_response(
    resp: dict[str, Any], *, model: str, base64: bool, input_tokens: int
) -> dict[str, Any]:
    """A batchEmbedContents answer as an OpenAI embeddings list. Gemini counts no tokens for
    embeddings: `input_tokens` is the adapter's estimate."""
    embeddings = resp.get("embeddings")
    data = []
    for index, item in enumerate(embeddings if isinstance(embeddings, list) else ()):
        values = _floats(item.get("values") if isinstance(item, dict) else None)
        vector: list[float] | str = _base64_float32(values) if base64 else values
        data.append({"object": "embedding", "index": index, "embedding": vector})
    return {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": input_tokens, "total_tokens": input_tokens},
    }
