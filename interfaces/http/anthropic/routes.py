"""The Anthropic Messages API in front: `POST /v1/messages` and `/v1/messages/count_tokens`.

A translator around the completion pipeline (`application.providers.completions.pipeline`). To a
provider that speaks Messages the request passes natively; to any other it is translated into the
OpenAI form (`translate_request`), runs through the same pipeline as `/v1/chat/completions` (keys,
usage, audit), and the answer is translated back, streams included (`translate_response`,
`translate_stream`), into Anthropic's exact shapes.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from msgspec import Meta

from application.providers.completions.request import CompletionRequest, Dialect
from interfaces.http.anthropic.translate_request import messages_to_chat
from interfaces.http.anthropic.translate_response import chat_to_message
from interfaces.http.anthropic.translate_stream import chat_sse_to_events, sse_cut, sse_error
from interfaces.http.container import request_id_of
from interfaces.http.dependencies import Completions, KeyHolder
from interfaces.http.dialect_answer import dialect_answer
from interfaces.http.openai.decoding import decode_body
from interfaces.http.openai.schemas import OutputTokens

CHARS_PER_TOKEN = 4


class MessagesRequest(msgspec.Struct):
    """Validation of what routing needs; the body itself passes on whole."""

    model: Annotated[str, Meta(min_length=1, max_length=256)]
    messages: Annotated[list[Any], Meta(min_length=1)]
    max_tokens: OutputTokens | None = None
    stream: bool | None = False


def protocol_headers(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The Anthropic protocol headers the client sent, for a native pass-through."""
    return {
        name: value
        for name in ("anthropic-version", "anthropic-beta")
        if (value := request.headers.get(name))
    }


@post(
    "/v1/messages",
    status_code=200,
    tags=["Anthropic"],
    summary="Create a message (Anthropic Messages API), with any model behind the gateway",
)
async def messages(
    request: Request[Any, Any, Any], key_holder: KeyHolder, completions: Completions
) -> Response[Any]:
    raw, view = decode_body(await request.body(), MessagesRequest)
    request_id = request_id_of(request)
    dialect = Dialect(
        kind="messages",
        headers=protocol_headers(request),
        as_chat=messages_to_chat,
        stream_error=sse_error,
        stream_cut=sse_cut,
    )
    answer = await completions.complete(
        CompletionRequest(
            caller=key_holder,
            request_id=request_id,
            model=view.model,
            body=raw,
            stream=bool(view.stream),
            include_usage=True,  # a translated stream's usage ends Anthropic's message_delta
            dialect=dialect,
        )
    )
    return dialect_answer(
        answer,
        lambda chunks, upstream: chat_sse_to_events(chunks, upstream, request_id),
        lambda completion, model: chat_to_message(completion, model=model),
    )


@post(
    "/v1/messages/count_tokens",
    status_code=200,
    tags=["Anthropic"],
    summary="Count the input tokens of a Messages request",
)
async def count_tokens(
    request: Request[Any, Any, Any], key_holder: KeyHolder, completions: Completions
) -> dict[str, int]:
    raw, view = decode_body(await request.body(), MessagesRequest)
    natively = await completions.count_tokens(
        key_holder, view.model, raw, protocol_headers(request)
    )
    if natively is not None:
        return {"input_tokens": natively}
    counted = {key: raw.get(key) for key in ("system", "messages", "tools")}
    estimate = -(-len(msgspec.json.encode(counted)) // CHARS_PER_TOKEN)
    return {"input_tokens": max(1, estimate)}


ROUTES = [messages, count_tokens]
