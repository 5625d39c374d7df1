"""The answer of a front door whose dialect is not the OpenAI chat (Anthropic Messages, Gemini),
whole or streamed: as the upstream sent it when the body went natively, else translated from
the chat completion the pipeline answered with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import msgspec
from litestar import Response
from litestar.response import Stream

from application.providers.completions.request import Completion
from domains.providers.model import answered_model
from interfaces.http.openai.routes import SSE_HEADERS

_JSON = "application/json"
_decoder = msgspec.json.Decoder()

StreamOf = Callable[[AsyncIterator[bytes], str], AsyncIterator[bytes]]
"""A translated stream: the chat stream's chunks, and the upstream model's name."""
BodyOf = Callable[[Any, str], Any]
"""A translated answer: the chat completion, and the model it names."""
Framed = Callable[[AsyncIterator[bytes], Mapping[str, str]], Response[Any]]
"""A stream's response other than server-sent events: its chunks and the answer's headers."""


def dialect_answer(
    answer: Completion, stream_of: StreamOf, body_of: BodyOf, *, framed: Framed | None = None
) -> Response[Any]:
    """The pipeline's `answer` in the front door's dialect; a stream as server-sent events
    unless `framed` says otherwise."""
    upstream = answer.route.upstream
    if answer.chunks is not None:
        chunks = answer.chunks if answer.native else stream_of(answer.chunks, upstream)
        if framed is not None:
            return framed(chunks, answer.headers)
        headers = {**SSE_HEADERS, **answer.headers}
        return Stream(chunks, media_type="text/event-stream", headers=headers)
    if answer.native:
        return Response(answer.body, media_type=_JSON, headers=answer.headers)
    completion = _decoder.decode(answer.body)
    named = completion.get("model") if isinstance(completion, dict) else None
    translated = body_of(completion, answered_model(named, upstream))
    return Response(msgspec.json.encode(translated), media_type=_JSON, headers=answer.headers)
