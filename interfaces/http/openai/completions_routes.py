"""`POST /v1/completions`: OpenAI's legacy text completions in front, with any model behind
the gateway (llama-index's `OpenAILike` and langchain's `OpenAI` LLM call it by default).

A translator around the completion pipeline, as `/v1/messages` is. To a provider that speaks
the dialect (`openai`, `openai-compatible`: `NativeDialects`) the body passes natively, answer
and stream coming back as the upstream sent them; to any other it is translated into chat
(`translate_completions`), one call per prompt, and the chat answer or stream translated back
(`translate_completions_stream`). Either way the call is authenticated, admitted, metered and
audited as a chat completion is.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.response import Stream
from msgspec import Meta

from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.request import Completion, CompletionRequest, Dialect
from application.providers.stream_relay import openai_sse_error
from domains.providers.output_limit import MAX_OUTPUT_TOKENS_ASKED
from interfaces.http.container import request_id_of
from interfaces.http.dependencies import Completions, KeyHolder
from interfaces.http.errors import ApiError
from interfaces.http.openai.decoding import decode_body
from interfaces.http.openai.routes import SSE_HEADERS
from interfaces.http.openai.schemas import NonEmpty, StreamOptions
from interfaces.http.openai.translate_completions import (
    chat_to_completion,
    completion_to_chat,
    counted_as_chat,
    merged_completions,
    one_per_prompt,
    prompt_problem,
    several_prompts,
)
from interfaces.http.openai.translate_completions_stream import (
    ChatChunksToCompletions,
    chat_sse_to_completions,
    completions_sse_cut,
)

_JSON = "application/json"
_decoder = msgspec.json.Decoder()
Penalty = Annotated[float, Meta(ge=-2, le=2)]


class CompletionsRequest(msgspec.Struct):
    """Validation of what OpenAI documents; the body itself passes on whole (natively) or is
    translated (`translate_completions`)."""

    model: NonEmpty
    prompt: str | list[Any] | None
    max_tokens: Annotated[int, Meta(ge=0, le=MAX_OUTPUT_TOKENS_ASKED)] | None = None
    temperature: Annotated[float, Meta(ge=0, le=2)] | None = None
    top_p: Annotated[float, Meta(ge=0, le=1)] | None = None
    n: Annotated[int, Meta(ge=1, le=128)] | None = None
    best_of: Annotated[int, Meta(ge=0, le=20)] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    logprobs: Annotated[int, Meta(ge=0, le=5)] | None = None
    echo: bool | None = None
    suffix: str | None = None
    stop: str | Annotated[list[str], Meta(max_length=4)] | None = None
    seed: int | None = None
    user: str | None = None
    frequency_penalty: Penalty | None = None
    presence_penalty: Penalty | None = None
    logit_bias: dict[str, int] | None = None


@post(
    "/v1/completions",
    status_code=200,
    tags=["OpenAI"],
    summary="Create a text completion (OpenAI legacy Completions, plain or SSE)",
)
async def completions(
    request: Request[Any, Any, Any], key_holder: KeyHolder, completions: Completions
) -> Response[Any]:
    raw, view = decode_body(await request.body(), CompletionsRequest)
    problem = prompt_problem(view.prompt)
    if problem is not None:
        raise ApiError(
            400, f"Invalid value for `prompt`: {problem}.", code="invalid_value", param="prompt"
        )
    request_id = request_id_of(request)
    routed = completions.resolve(key_holder, view.model, raw)
    route = routed.route
    stream = bool(view.stream)
    include_usage = bool(view.stream_options and view.stream_options.include_usage)
    completion_id = f"cmpl-{request_id}"
    dialect = Dialect(
        kind="completions",
        as_chat=completion_to_chat,
        as_chat_estimate=counted_as_chat,
        stream_error=openai_sse_error,
        stream_cut=completions_sse_cut(
            completion_id,
            route.upstream,
            (view.n or 1) * len(one_per_prompt(raw)),
            include_usage,
        ),
    )

    def call(body: dict[str, Any]) -> CompletionRequest:
        return CompletionRequest(
            caller=key_holder,
            request_id=request_id,
            model=view.model,
            routed=routed,
            body=body,
            stream=stream,
            include_usage=include_usage,
            dialect=dialect,
            prompt_log="v1.prompt",
        )

    if several_prompts(raw) and not completions.speaks(route, "completions"):
        if stream:
            raise ApiError(
                400,
                "This model streams one prompt per request; send the prompts separately.",
                code="invalid_value",
                param="prompt",
            )
        return await _one_call_per_prompt(completions, raw, call, completion_id)
    answer = await completions.complete(call(raw))
    if answer.chunks is not None:
        chunks = answer.chunks
        if not answer.native:
            translator = ChatChunksToCompletions(
                completion_id=completion_id,
                upstream=answer.route.upstream,
                include_usage=include_usage,
            )
            chunks = chat_sse_to_completions(chunks, translator)
        headers = {**SSE_HEADERS, **answer.headers}
        return Stream(chunks, media_type="text/event-stream", headers=headers)
    if answer.native:
        return Response(answer.body, media_type=_JSON, headers=answer.headers)
    completion = chat_to_completion(
        _decoder.decode(answer.body), completion_id=completion_id, upstream=answer.route.upstream
    )
    return Response(msgspec.json.encode(completion), media_type=_JSON, headers=answer.headers)


async def _one_call_per_prompt(
    completions: CompletionPipeline,
    body: dict[str, Any],
    call: Callable[[dict[str, Any]], CompletionRequest],
    completion_id: str,
) -> Response[Any]:
    """A body of several prompts to a chat-only model: one call each, at once. The first that
    fails fails the request: the calls still under way are cancelled (nothing is charged for
    them), those already answered are charged as answered."""
    tasks = [asyncio.ensure_future(completions.complete(call(one))) for one in one_per_prompt(body)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task.done() and (failure := task.exception()) is not None:
                raise failure
        answers: list[Completion] = [task.result() for task in tasks]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    n = body.get("n")
    choices = n if isinstance(n, int) else 1
    translated = []
    for number, answer in enumerate(answers):
        translated.append(
            chat_to_completion(
                _decoder.decode(answer.body),
                completion_id=completion_id,
                upstream=answer.route.upstream,
                first_index=number * choices,
            )
        )
    headers: Mapping[str, str] = answers[-1].headers
    return Response(
        msgspec.json.encode(merged_completions(translated)), media_type=_JSON, headers=headers
    )


ROUTES = [completions]
