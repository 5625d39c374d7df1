"""The OpenAI-compatible routes: chat completions (plain and SSE) and embeddings (the models are
`models_routes`, the legacy text completions `completions_routes`).

A translator around the completion pipeline (`application.providers.completions.pipeline`):
the body is decoded into a `CompletionRequest`, the `Completion` answered as JSON or SSE.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, post
from litestar.response import Stream

from application.providers.completions.request import Completion, CompletionRequest
from domains.shared.caller import Caller
from interfaces.bootstrap import Container
from interfaces.http.container import request_id_of
from interfaces.http.dependencies import Completions, KeyHolder
from interfaces.http.errors import ApiError
from interfaces.http.openai.auth import authenticate_secret
from interfaces.http.openai.decoding import decode_body
from interfaces.http.openai.schemas import (
    ChatCompletionRequest,
    EmbeddingsRequest,
    embeddings_input_problem,
)

_JSON = "application/json"
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


async def answer_chat(
    container: Container,
    secret: str | None,
    client: str | None,
    read_body: Callable[[], Awaitable[bytes]],
    request_id: str,
    tags: str | None = None,
    cache: str | None = None,
) -> Completion:
    """A chat completion, from the caller's credential and body to the answer, for
    `direct.DirectRoute` (straight from ASGI); Litestar's route below, given the caller as a
    dependency, answers the same through `chat_request`."""
    caller = await authenticate_secret(container, secret, client, tags, cache)
    return await container.completions.complete(chat_request(caller, await read_body(), request_id))


def chat_request(caller: Caller, body: bytes, request_id: str) -> CompletionRequest:
    """A Chat Completions body, validated, as the pipeline's request."""
    raw, view = decode_body(body, ChatCompletionRequest)
    options = view.stream_options
    return CompletionRequest(
        caller=caller,
        request_id=request_id,
        model=view.model,
        body=raw,
        stream=bool(view.stream),
        include_usage=bool(options and options.include_usage),
        prompt_log="v1.prompt",
    )


@post(
    "/v1/chat/completions",
    status_code=200,
    tags=["OpenAI"],
    summary="Create a chat completion (OpenAI Chat Completions, plain or SSE)",
)
async def chat_completions(
    request: Request[Any, Any, Any], key_holder: KeyHolder, completions: Completions
) -> Response[Any]:
    answer = await completions.complete(
        chat_request(key_holder, await request.body(), request_id_of(request))
    )
    if answer.chunks is not None:
        headers = {**SSE_HEADERS, **answer.headers}
        return Stream(answer.chunks, media_type="text/event-stream", headers=headers)
    return Response(answer.body, media_type=_JSON, headers=answer.headers)


@post("/v1/embeddings", status_code=200, tags=["OpenAI"], summary="Create embeddings")
async def embeddings(
    request: Request[Any, Any, Any], key_holder: KeyHolder, completions: Completions
) -> Response[bytes]:
    raw, view = decode_body(await request.body(), EmbeddingsRequest)
    problem = embeddings_input_problem(view.input)
    if problem is not None:
        raise ApiError(
            400, f"Invalid value for `input`: {problem}.", code="invalid_value", param="input"
        )
    answer = await completions.embed(
        CompletionRequest(
            caller=key_holder, request_id=request_id_of(request), model=view.model, body=raw
        )
    )
    return Response(answer.body, media_type=_JSON, headers=answer.headers)


ROUTES = [chat_completions, embeddings]
