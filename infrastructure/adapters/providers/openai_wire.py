"""The OpenAI wire format, as pure functions: request preparation, usage extraction, SSE events
(error bodies are `openai_errors`). Shared by the `openai` and `openai-compatible` adapters."""

from __future__ import annotations

import base64
import struct
from typing import Any

import msgspec

from domains.providers.passed_body import with_members
from domains.providers.ports import Usage
from infrastructure.adapters.providers.passed_json import passed_json
from infrastructure.adapters.providers.sse import event_fields


class _PromptDetails(msgspec.Struct):
    cached_tokens: int | None = None


class _CompletionDetails(msgspec.Struct):
    reasoning_tokens: int | None = None


class _Usage(msgspec.Struct):
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    prompt_tokens_details: _PromptDetails | None = None
    completion_tokens_details: _CompletionDetails | None = None


class _Delta(msgspec.Struct):
    content: str | None = None
    tool_calls: list[dict[str, Any]] | None = None


class _ChunkChoice(msgspec.Struct):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    choices: list[_ChunkChoice] = []
    usage: _Usage | None = None


class _WithUsage(msgspec.Struct):
    usage: _Usage | None = None


_chunk_decoder = msgspec.json.Decoder(_Chunk)
_usage_decoder = msgspec.json.Decoder(_WithUsage)
_encoder = msgspec.json.Encoder()


def chat_body(
    body: dict[str, Any], upstream_model: str, *, stream: bool, stream_usage: bool = True
) -> bytes:
    """The body to send upstream: the client's, with the upstream model name, and with usage
    asked for when streaming (the gateway bills from it) unless the server refuses
    `stream_options`, in which case none is sent (nor is it on a request that does not
    stream). A body the client sent as it is (`PassedBody`) goes up as its own bytes with only
    those members rewritten (`passed_json`)."""
    return passed_json(streamed_body(body, upstream_model, stream=stream, usage=stream_usage))


def streamed_body(
    body: dict[str, Any], upstream_model: str, *, stream: bool, usage: bool
) -> dict[str, Any]:
    """``body`` (chat or legacy completions) with the upstream model name and, when ``stream``
    and ``usage``, `stream_options.include_usage`; a copy of the same type when it changes."""
    out = with_members(body, model=upstream_model)
    if stream and usage:
        options = out.get("stream_options")
        options = options if isinstance(options, dict) else {}
        if options.get("include_usage") is not True:
            out["stream_options"] = {**options, "include_usage": True}
        if out.get("stream") is not True:
            out["stream"] = True
    else:
        out.pop("stream_options", None)
        if stream and out.get("stream") is not True:
            out["stream"] = True
    return out


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def _usage(raw: _Usage | None) -> Usage | None:
    """Chat Completions usage: `prompt_tokens` includes the cached ones
    (`prompt_tokens_details.cached_tokens`), `completion_tokens` the reasoning ones
    (`completion_tokens_details.reasoning_tokens`). OpenAI reports no cache writes."""
    if raw is None:
        return None
    prompt, completion = raw.prompt_tokens_details, raw.completion_tokens_details
    return Usage(
        input_tokens=raw.prompt_tokens or 0,
        output_tokens=raw.completion_tokens or 0,
        cached_tokens=(prompt.cached_tokens or 0) if prompt else 0,
        reasoning_tokens=(completion.reasoning_tokens or 0) if completion else 0,
    )


def usage_of(body: bytes) -> Usage | None:
    """The usage of a complete (non-stream) chat or embeddings response."""
    try:
        return _usage(_usage_decoder.decode(body).usage)
    except (msgspec.DecodeError, RecursionError):  # RecursionError: absurdly nested JSON
        return None


def event_data(event: bytes) -> bytes | None:
    """The data of one SSE event (its `data:` lines joined), or None for a comment-only event."""
    return event_fields(event)[1]


class ChunkFacts(msgspec.Struct):
    usage: Usage | None
    usage_only: bool
    output_chars: int
    finish_reason: str | None


def chunk_facts(data: bytes) -> ChunkFacts | None:
    """What the gateway needs from one stream chunk; None if it is not a chunk (e.g. an error)."""
    try:
        chunk = _chunk_decoder.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    chars, finish = 0, None
    for choice in chunk.choices:
        if choice.delta is not None:
            if choice.delta.content:
                chars += len(choice.delta.content)
            for call in choice.delta.tool_calls or ():
                function = call.get("function")
                arguments = function.get("arguments") if isinstance(function, dict) else None
                if isinstance(arguments, str):
                    chars += len(arguments)
        finish = choice.finish_reason or finish
    usage = _usage(chunk.usage)
    return ChunkFacts(usage, usage is not None and not chunk.choices, chars, finish)


def floats_to_base64(values: list[float]) -> str:
    return base64.b64encode(struct.pack(f"<{len(values)}f", *values)).decode()


def embeddings_as_base64(body: bytes) -> bytes:
    """An embeddings response with float vectors, re-encoded as OpenAI's base64 float32."""
    parsed = msgspec.json.decode(body)
    for item in parsed.get("data") or ():
        vector = item.get("embedding")
        if isinstance(vector, list):
            item["embedding"] = floats_to_base64(vector)
    return _encoder.encode(parsed)
