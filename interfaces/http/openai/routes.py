"""The OpenAI-compatible routes: chat completions (plain and SSE), embeddings, models."""

from __future__ import annotations

from typing import Any

import msgspec
import structlog
from litestar import Request, Response, get, post
from litestar.response import Stream

from interfaces.http.container import container_of, request_id_of
from interfaces.http.errors import ApiError
from interfaces.http.openai.auth import authenticate
from interfaces.http.openai.decoding import decode_body
from interfaces.http.openai.schemas import (
    ChatCompletionRequest,
    EmbeddingsRequest,
    embeddings_input_problem,
)

log = structlog.get_logger("fluxrouter.v1")

_JSON = "application/json"
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@post(
    "/v1/chat/completions",
    status_code=200,
    tags=["OpenAI"],
    summary="Create a chat completion (OpenAI Chat Completions, plain or SSE)",
)
async def chat_completions(request: Request[Any, Any, Any]) -> Response[Any]:
    container = container_of(request)
    caller = await authenticate(request)
    raw, view = decode_body(await request.body(), ChatCompletionRequest)
    route = container.gateway.route_for(caller, view.model)
    if container.settings.logging.log_prompts:
        log.info("v1.prompt", model=view.model, messages=raw.get("messages"))
    request_id = request_id_of(request)
    ticket = await container.gateway.admit(caller, route, raw, "chat")
    if view.stream:
        include_usage = bool(view.stream_options and view.stream_options.include_usage)
        chunks = await container.gateway.chat_stream(
            caller, request_id, route, raw, ticket, include_usage=include_usage
        )
        return Stream(
            chunks, media_type="text/event-stream", headers={**_SSE_HEADERS, **ticket.headers}
        )
    body = await container.gateway.chat(caller, request_id, route, raw, ticket)
    return Response(body, media_type=_JSON, headers=dict(ticket.headers))


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


@get("/v1/models", tags=["OpenAI"], summary="The models this key may use")
async def list_models(request: Request[Any, Any, Any]) -> Response[bytes]:
    container = container_of(request)
    caller = await authenticate(request)
    data = [
        {"id": shown, "object": "model", "created": 0, "owned_by": route.provider}
        for shown, route in container.gateway.models_for(caller)
    ]
    return Response(msgspec.json.encode({"object": "list", "data": data}), media_type=_JSON)


ROUTES = [chat_completions, embeddings, list_models]
