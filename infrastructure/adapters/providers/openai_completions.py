"""OpenAI's legacy text completions (`POST /v1/completions`) passed natively to an `openai` or
`openai-compatible` upstream: the body goes up as the client sent it (the upstream model name,
the output cap of a reservation and, when streaming, `stream_options.include_usage` rewritten
in it), the answer comes back as the upstream sent it, and the gateway reads the usage and the
text from it on the way (`completion_chunk_facts`, for the adapter's stream)."""

from __future__ import annotations

from typing import Any

import msgspec

from infrastructure.adapters.providers.openai_wire import ChunkFacts, usage_of

PATH = "/completions"


class _Choice(msgspec.Struct):
    text: str | None = None
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    choices: list[_Choice] = []
    usage: dict[str, Any] | None = None


_chunk_decoder = msgspec.json.Decoder(_Chunk)


def asks_for_usage(body: dict[str, Any]) -> bool:
    """Whether the client asked for the usage chunk of a stream itself."""
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


def completion_chunk_facts(data: bytes) -> ChunkFacts | None:
    """What the gateway needs from one `text_completion` chunk (its text, its usage); None if
    it is not a chunk (an error event, say)."""
    try:
        chunk = _chunk_decoder.decode(data)
    except (msgspec.DecodeError, RecursionError):
        return None
    chars, finish = 0, None
    for choice in chunk.choices:
        chars += len(choice.text or "")
        finish = choice.finish_reason or finish
    usage = usage_of(data) if chunk.usage is not None else None
    return ChunkFacts(usage, usage is not None and not chunk.choices, chars, finish)
