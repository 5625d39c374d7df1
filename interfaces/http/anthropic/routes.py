"""The Anthropic Messages API in front: `POST /v1/messages` and `/v1/messages/count_tokens`.

To an Anthropic model the request passes natively; to any other model it is translated into the
OpenAI form, runs through the same pipeline as `/v1/chat/completions` (keys, usage, audit), and
the answer is translated back, streams included, into Anthropic's exact shapes.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.response import Stream
from msgspec import Meta

from domains.providers.errors import UpstreamError
from domains.providers.model import answered_model
from domains.providers.ports import Usage
from infrastructure.adapters.providers.sse import SseSplitter, event_fields
from interfaces.http.anthropic.translate_request import messages_to_chat
from interfaces.http.anthropic.translate_response import chat_to_message, error_body
from interfaces.http.anthropic.translate_stream import ChatChunksToEvents, encode_event
from interfaces.http.container import container_of, request_id_of
from interfaces.http.openai.auth import authenticate
from interfaces.http.openai.decoding import decode_body
from interfaces.http.openai.routes import SSE_HEADERS
from interfaces.http.openai.schemas import OutputTokens

CHARS_PER_TOKEN = 4
_decoder = msgspec.json.Decoder()


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


def sse_error(error: UpstreamError) -> bytes:
    _, body = error_body(error.anthropic_status, error.message, error.anthropic_type)
    return encode_event("error", body)


def sse_cut(usage: Usage) -> bytes:
    """The end of a native stream cut at its reservation: the message stopped at `max_tokens`,
    with the output it is billed for."""
    delta = {
        "type": "message_delta",
        "delta": {"stop_reason": "max_tokens", "stop_sequence": None},
        "usage": {"output_tokens": usage.output_tokens},
    }
    return encode_event("message_delta", delta) + encode_event(
        "message_stop", {"type": "message_stop"}
    )


@post(
    "/v1/messages",
    status_code=200,
    tags=["Anthropic"],
    summary="Create a message (Anthropic Messages API), with any model behind the gateway",
)
async def messages(request: Request[Any, Any, Any]) -> Response[Any]:
    container = container_of(request)
    caller = await authenticate(request)
    raw, view = decode_body(await request.body(), MessagesRequest)
    gateway = container.gateway
    route = gateway.route_for(caller, view.model)
    request_id = request_id_of(request)
    native = gateway.speaks_messages(route)
    chat = None if native else messages_to_chat(raw)  # a bad body is refused before admission
    ticket = await gateway.admit(caller, route, raw, "messages")
    stream_headers = {**SSE_HEADERS, **ticket.headers}
    if chat is None:
        if view.stream:
            chunks = await gateway.native_messages_stream(
                caller,
                request_id,
                route,
                raw,
                protocol_headers(request),
                ticket,
                on_error=sse_error,
                on_cut=sse_cut,
            )
            return Stream(chunks, media_type="text/event-stream", headers=stream_headers)
        return Response(
            await gateway.native_messages(
                caller, request_id, route, raw, protocol_headers(request), ticket
            ),
            media_type="application/json",
            headers=dict(ticket.headers),
        )
    if view.stream:
        chunks = await gateway.chat_stream(
            caller, request_id, route, chat, ticket, include_usage=True
        )
        return Stream(
            _as_events(chunks, route.upstream, request_id),
            media_type="text/event-stream",
            headers=stream_headers,
        )
    completion = _decoder.decode(await gateway.chat(caller, request_id, route, chat, ticket))
    named = completion.get("model") if isinstance(completion, dict) else None
    return Response(
        msgspec.json.encode(
            chat_to_message(completion, model=answered_model(named, route.upstream))
        ),
        media_type="application/json",
        headers=dict(ticket.headers),
    )


async def _as_events(
    chunks: AsyncIterator[bytes], model: str, request_id: str
) -> AsyncIterator[bytes]:
    """OpenAI SSE from the pipeline → Anthropic's event sequence, as the chunks arrive."""
    translator = ChatChunksToEvents(model=model, message_id=f"msg_{request_id}")
    splitter = SseSplitter()
    async with contextlib.aclosing(chunks):  # type: ignore[type-var]
        async for data in chunks:
            out = b""
            for event in splitter.feed(data):
                _, payload = event_fields(event)
                if payload is None or payload == b"[DONE]":
                    continue
                parsed = _decoder.decode(payload)
                if isinstance(parsed, dict):
                    out += b"".join(encode_event(n, d) for n, d in translator.feed(parsed))
            if out:
                yield out
    tail = b"".join(encode_event(name, data) for name, data in translator.finish())
    if tail:
        yield tail


@post(
    "/v1/messages/count_tokens",
    status_code=200,
    tags=["Anthropic"],
    summary="Count the input tokens of a Messages request",
)
async def count_tokens(request: Request[Any, Any, Any]) -> dict[str, int]:
    container = container_of(request)
    caller = await authenticate(request)
    raw, view = decode_body(await request.body(), MessagesRequest)
    route = container.gateway.route_for(caller, view.model)
    if container.gateway.speaks_messages(route):
        counted_natively = await container.gateway.native_count_tokens(
            route, raw, protocol_headers(request)
        )
        return {"input_tokens": counted_natively}
    counted = {key: raw.get(key) for key in ("system", "messages", "tools")}
    estimate = -(-len(msgspec.json.encode(counted)) // CHARS_PER_TOKEN)
    return {"input_tokens": max(1, estimate)}


ROUTES = [messages, count_tokens]
