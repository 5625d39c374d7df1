"""Gemini's own API in front: `POST /v1beta/models/{model}:{method}` (and `/v1/models/...`, the
google-genai SDK's default version) for `generateContent`, `streamGenerateContent`,
`countTokens`, `embedContent` and `batchEmbedContents`, with any model behind the gateway.

A translator around the completion pipeline (`application.providers.completions.pipeline`). To a
provider that speaks Gemini's API the body passes natively, byte for byte; to any other it is
translated into the OpenAI form (`translate_request`), runs through the same pipeline as
`/v1/chat/completions` (keys, budgets, usage, audit), and the answer is translated back, streams
included (`translate_response`, `translate_stream`). Embeddings go through the pipeline's
`embed` as OpenAI embeddings (`embeddings`), whatever the provider.

The method follows a colon in the last segment of the path, which Litestar cannot route on, so
one route takes the rest of the path (`{target:path}`) and splits it; the OpenAPI document
describes each method on its own path (`api_docs`). Errors on these paths are answered in
Google's shape (`interfaces.http.errors`).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.response import Stream

from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.request import CompletionRequest, Dialect
from domains.shared.caller import Caller
from domains.shared.errors import NotFound
from infrastructure.tokens.bpe_prompt_counter import BpePromptCounter
from interfaces.http.container import request_id_of
from interfaces.http.dependencies import Completions, GeminiKeyCheck, TokenCounter
from interfaces.http.dialect_answer import dialect_answer
from interfaces.http.gemini import schemas
from interfaces.http.gemini.embeddings import (
    batch_request,
    batch_response,
    embed_request,
    embed_response,
)
from interfaces.http.gemini.fields import check, field
from interfaces.http.gemini.paths import METHODS, PREFIXES
from interfaces.http.gemini.translate_request import gemini_to_chat
from interfaces.http.gemini.translate_response import chat_to_gemini
from interfaces.http.gemini.translate_stream import (
    chat_sse_to_gemini,
    sse_error,
    sse_to_json_array,
    stream_cut,
)
from interfaces.http.openai.decoding import decode_body

_JSON = "application/json"
_decoder = msgspec.json.Decoder()

Handler = Callable[
    [Request[Any, Any, Any], Caller, CompletionPipeline, str, bytes], Awaitable[Response[Any]]
]


class UnknownMethod(NotFound):
    code = "unknown_method"

    def __init__(self, method: str) -> None:
        shown = method if len(method) <= 60 else method[:60] + "…"
        super().__init__(
            f"There is no method `{shown}` on a model here: the methods are {', '.join(METHODS)}."
        )


def split_target(target: str) -> tuple[str, str]:
    """(model, method) of what follows `models/` in the path: `gemini-2.5-flash:generateContent`,
    `openai/gpt-4o:streamGenerateContent` (the model may hold slashes, dots and colons; the
    method follows the last colon)."""
    model, colon, method = target.lstrip("/").rpartition(":")
    if not colon or method not in METHODS:
        raise UnknownMethod(method if colon else "")
    return model, method


@post(
    [f"{prefix}{{target:path}}" for prefix in PREFIXES],
    status_code=200,
    include_in_schema=False,  # described method by method in `api_docs`
)
async def model_method(
    request: Request[Any, Any, Any],
    target: str,
    gemini_key: GeminiKeyCheck,
    completions: Completions,
    token_counter: TokenCounter,
) -> Response[Any]:
    model, method = split_target(target)  # an unknown method is a 404 whatever the key
    caller = await gemini_key.caller()
    body = await request.body()
    if method == "countTokens":
        return await _count_tokens(request, caller, completions, model, body, counter=token_counter)
    return await _HANDLERS[method](request, caller, completions, model, body)


async def _generate(
    request: Request[Any, Any, Any],
    caller: Caller,
    completions: CompletionPipeline,
    model: str,
    body: bytes,
    *,
    stream: bool,
) -> Response[Any]:
    raw, _ = decode_body(body, schemas.GenerateContentRequest)
    routed = completions.resolve(caller, model, raw)
    route = routed.route
    native = completions.speaks(route, "gemini")
    request_id = request_id_of(request)
    response_id = f"resp-{request_id}"
    config = field(raw, "generationConfig")
    config = config if isinstance(config, dict) else {}
    thinking = field(config, "thinkingConfig")
    thoughts = isinstance(thinking, dict) and field(thinking, "includeThoughts") is True
    candidates = field(config, "candidateCount")
    dialect = Dialect(
        kind="gemini",
        as_chat=functools.partial(gemini_to_chat, model=model, stream=stream, lenient=native),
        stream_error=sse_error,
        stream_cut=stream_cut(
            route.upstream, response_id, candidates if isinstance(candidates, int) else 1
        ),
    )
    answer = await completions.complete(
        CompletionRequest(
            caller=caller,
            request_id=request_id,
            model=model,
            routed=routed,
            body=raw,  # a PassedBody: natively, the client's bytes go up
            stream=stream,
            include_usage=True,  # a translated stream's usage ends Gemini's last event
            dialect=dialect,
        )
    )
    return dialect_answer(
        answer,
        lambda chunks, upstream: chat_sse_to_gemini(
            chunks, upstream, response_id, thoughts=thoughts
        ),
        lambda completion, named: chat_to_gemini(
            completion, model=named, response_id=response_id, thoughts=thoughts
        ),
        framed=None if request.query_params.get("alt") == "sse" else _json_array,
    )


def _json_array(chunks: AsyncIterator[bytes], headers: Mapping[str, str]) -> Response[Any]:
    """A stream as Google answers it without `alt=sse`: one JSON array, filled as it comes."""
    return Stream(sse_to_json_array(chunks), media_type=_JSON, headers=headers)


async def _count_tokens(
    request: Request[Any, Any, Any],
    caller: Caller,
    completions: CompletionPipeline,
    model: str,
    body: bytes,
    *,
    counter: BpePromptCounter,
) -> Response[Any]:
    raw, view = decode_body(body, schemas.CountTokensRequest)
    inner = field(raw, "generateContentRequest")
    has_contents = view.contents is not None
    check(
        has_contents != (inner is not None),
        "contents",
        "or `generateContentRequest` must be given, not both",
    )
    counted = await completions.count_tokens(caller, model, raw, {}, "gemini")
    if counted is None:  # not a Gemini model: the gateway's own estimate, as for a budget
        asked = inner if isinstance(inner, dict) else {"contents": field(raw, "contents")}
        chat = gemini_to_chat(asked, model=model, lenient=True)
        counted = await asyncio.to_thread(counter.count_chat, chat)
    return Response(msgspec.json.encode({"totalTokens": counted}), media_type=_JSON)


async def _embed(
    request: Request[Any, Any, Any],
    caller: Caller,
    completions: CompletionPipeline,
    model: str,
    body: bytes,
    *,
    batch: bool,
) -> Response[Any]:
    if batch:
        raw, _ = decode_body(body, schemas.BatchEmbedContentsRequest)
        asked = batch_request(raw, model=model)
    else:
        raw, _ = decode_body(body, schemas.EmbedContentRequest)
        asked = embed_request(raw, model=model)
    answer = await completions.embed(
        CompletionRequest(caller=caller, request_id=request_id_of(request), model=model, body=asked)
    )
    parsed = _decoder.decode(answer.body)
    translated = batch_response(parsed) if batch else embed_response(parsed)
    return Response(msgspec.json.encode(translated), media_type=_JSON, headers=answer.headers)


_HANDLERS: dict[str, Handler] = {
    "generateContent": functools.partial(_generate, stream=False),
    "streamGenerateContent": functools.partial(_generate, stream=True),
    "embedContent": functools.partial(_embed, batch=False),
    "batchEmbedContents": functools.partial(_embed, batch=True),
}

ROUTES = [model_method]
