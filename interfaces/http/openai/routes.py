"""The OpenAI-compatible routes: chat completions (plain and SSE), embeddings, models."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from litestar import HttpMethod, Request, Response, post, route
from litestar.response import Stream

from interfaces.bootstrap import Container
from interfaces.http.container import bearer_token, client_host, container_of, request_id_of
from interfaces.http.errors import ApiError
from interfaces.http.openai.auth import authenticate, authenticate_secret
from interfaces.http.openai.decoding import decode_body
from interfaces.http.openai.schemas import (
    ChatCompletionRequest,
    EmbeddingsRequest,
    embeddings_input_problem,
)

log = structlog.get_logger("fluxrouter.v1")

_JSON = "application/json"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(frozen=True, slots=True)
class ChatAnswer:
    """What a chat completion answers: a JSON body, or SSE chunks to relay as they come."""

    headers: dict[str, str]
    body: bytes = b""
    chunks: AsyncIterator[bytes] | None = None


async def answer_chat(
    container: Container,
    secret: str | None,
    client: str | None,
    read_body: Callable[[], Awaitable[bytes]],
    request_id: str,
) -> ChatAnswer:
    """A chat completion, from the caller's credential and body to the answer; served by
    Litestar's route below and by `direct.DirectChat` straight from ASGI."""
    caller = await authenticate_secret(container, secret, client)
    raw, view = decode_body(await read_body(), ChatCompletionRequest)
    route = container.gateway.route_for(caller, view.model)
    if container.settings.logging.log_prompts:
        log.info("v1.prompt", model=view.model, messages=raw.get("messages"))
    ticket = await container.gateway.admit(caller, route, raw, "chat")
    if view.stream:
        include_usage = bool(view.stream_options and view.stream_options.include_usage)
        chunks = await container.gateway.chat_stream(
            caller, request_id, route, raw, ticket, include_usage=include_usage
        )
        return ChatAnswer(headers={**SSE_HEADERS, **ticket.headers}, chunks=chunks)
    body = await container.gateway.chat(caller, request_id, route, raw, ticket)
    return ChatAnswer(headers=dict(ticket.headers), body=body)


@post(
    "/v1/chat/completions",
    status_code=200,
    tags=["OpenAI"],
    summary="Create a chat completion (OpenAI Chat Completions, plain or SSE)",
)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[Any]:
    answer = await answer_chat(
        container_of(request),
        bearer_token(request, x_api_key=True),
        client_host(request),
        request.body,
        request_id_of(request),
    )
    if answer.chunks is not None:
        return Stream(answer.chunks, media_type="text/event-stream", headers=answer.headers)
    return Response(answer.body, media_type=_JSON, headers=answer.headers)


@post("/v1/embeddings", status_code=200, tags=["OpenAI"], summary="Create embeddings")
async def embeddings(request: Request[Any, Any, Any]) -> Response[bytes]:
    container = container_of(request)
    caller = await authenticate(request)
    raw, view = decode_body(await request.body(), EmbeddingsRequest)
    problem = embeddings_input_problem(view.input)
    if problem is not None:
        raise ApiError(
            400, f"Invalid value for `input`: {problem}.", code="invalid_value", param="input"
        )
    route = container.gateway.route_for(caller, view.model)
    ticket = await container.gateway.admit(caller, route, raw, "embeddings")
    body = await container.gateway.embeddings(caller, request_id_of(request), route, raw, ticket)
    return Response(body, media_type=_JSON, headers=dict(ticket.headers))


@route(
    "/v1/models",
    http_method=[HttpMethod.GET, HttpMethod.HEAD],  # HEAD: as GET, without the body
    tags=["OpenAI"],
    summary="The models this key may use",
)
async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    container = container_of(request)
    caller = await authenticate(request)
    data = [
        {"id": shown, "object": "model", "created": 0, "owned_by": route.provider}
        for shown, route in container.gateway.models_for(caller)
    ]
    return Response(msgspec.json.encode({"object": "list", "data": data}), media_type=_JSON)


ROUTES = [chat_completions, embeddings, list_models]
