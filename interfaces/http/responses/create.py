"""Creating a response, whichever transport asked (`POST /v1/responses`, the Responses
WebSocket mode): the body validated, the conversation a `previous_response_id` continues
rebuilt, the call made through the completion pipeline (natively to a provider that speaks
Responses, else translated through chat and back), and the finished response stored for the
caller's org unless `store` is false.

Errors are raised as the domain's and the interface's exceptions (`InvalidRequest`,
`LimitExceeded`, `UpstreamError`, `ApiError`...), for each transport to put in its own shape.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from msgspec import Meta

from application.conversations.response_store import ResponseStore
from application.providers.call import Transport
from application.providers.completions.request import CompletionRequest, Dialect
from domains.providers.model import answered_model
from domains.shared.caller import Caller
from interfaces.http.errors import ApiError
from interfaces.http.openai.decoding import validated
from interfaces.http.openai.schemas import OutputTokens
from interfaces.http.responses.history import history_before
from interfaces.http.responses.keeping import Keeping, encoded_input_items
from interfaces.http.responses.native_stream import NativeResponseStream
from interfaces.http.responses.translate_request import (
    input_items,
    new_item_id,
    responses_to_chat,
    with_history,
    without_gateway_reasoning,
)
from interfaces.http.responses.translate_response import chat_to_response
from interfaces.http.responses.translate_stream import chat_sse_to_response_events

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from application.bus import MessageBus
    from application.providers.completions.pipeline import CompletionPipeline
    from domains.shared.events import Command

_decoder = msgspec.json.Decoder()

BACKGROUND_REFUSED = (
    "Background responses are not supported by this gateway: send `background: false` (the"
    " default), streamed or not."
)


class ResponsesRequest(msgspec.Struct):
    """Validation of what routing and storing need; the body itself passes on whole (the
    translation validates the rest)."""

    model: Annotated[str, Meta(min_length=1, max_length=256)]
    stream: bool | None = False
    store: bool | None = True
    background: bool | None = False
    previous_response_id: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    max_output_tokens: OutputTokens | None = None


@dataclass(slots=True)
class ResponsesServices:
    """What creating and storing responses takes from the composition, built once (its
    `store` gathers the responses of every request it serves into group commits)."""

    completions: CompletionPipeline
    bus: MessageBus
    engine: AsyncEngine
    retention_days: int
    write_responses: Callable[[Command], Awaitable[object]] | None = None
    """Where the store's batches are written: the serving process's accounting process, else
    the bus."""
    store: ResponseStore = field(init=False)

    def __post_init__(self) -> None:
        self.store = ResponseStore(self.write_responses or self.bus.handle)


@dataclass(frozen=True, slots=True)
class Created:
    """A response: `body` (the `Response` JSON) or `events` (its SSE frames, `event: ...\\ndata:
    {...}\\n\\n`; closing them ends the upstream call, billed for what was produced), and the
    caller's `x-ratelimit-*` headers."""

    headers: Mapping[str, str]
    body: bytes | None = None
    events: AsyncIterator[bytes] | None = None

    @property
    def chunks(self) -> AsyncIterator[bytes] | None:
        """The events, as a direct route relays a stream's chunks."""
        return self.events


async def create_response(
    services: ResponsesServices,
    caller: Caller,
    body: dict[str, Any],
    request_id: str,
    *,
    transport: Transport = "http",
    on_admitted: Callable[[Mapping[str, str]], bool] | None = None,
) -> Created:
    """`on_admitted`: told the admission's headers once admitted; answering False withdraws the
    request before it goes upstream (`Withdrawn`: a WebSocket client that left meanwhile)."""
    view = validated(body, ResponsesRequest)
    if view.background:
        raise ApiError(400, BACKGROUND_REFUSED, code="unsupported_parameter", param="background")
    completions = services.completions
    routed = completions.resolve(caller, view.model, body)
    native = completions.speaks(routed.route, "responses")
    previous = view.previous_response_id
    history: list[dict[str, Any]] = []
    sent = body
    if previous is not None:
        history = await history_before(services.engine, services.store, caller, previous)
        # natively the upstream is sent the whole conversation, not an id it does not know
        sent = with_history(body, history) if native else body
    if native:  # Claude's thinking, carried in reasoning items, is nothing OpenAI can read
        sent = without_gateway_reasoning(sent)
    keeping = None
    if view.store is not False:
        keeping = Keeping(
            store=services.store,
            caller=caller,
            input_items=encoded_input_items(input_items(body)),
            previous_response_id=previous,
            retention_days=services.retention_days,
        )
    response_id, created_at = new_item_id("response"), int(time.time())
    # a stream is stored from its final response, told before its last event is passed on, or
    # when the client leaves first, as it stands then (`cancelled`): never lost, never half-told
    kept = keeping.keep if keeping is not None else None
    # a native stream is watched on its way, for the endings the gateway adds to it
    watch = NativeResponseStream(
        body,
        response_id=response_id,
        created_at=created_at,
        model=view.model,
        previous_response_id=previous,
        on_done=kept,
    )
    answer = await completions.complete(
        CompletionRequest(
            caller=caller,
            request_id=request_id,
            model=view.model,
            routed=routed,
            body=sent,
            stream=bool(view.stream),
            include_usage=True,  # a translated stream's usage ends in `response.completed`
            dialect=Dialect(
                kind="responses",
                # a body passed natively is translated only for admission's estimate, leaving
                # in what OpenAI alone runs (its built-in tools); any other to be sent
                as_chat=functools.partial(responses_to_chat, history=history),
                as_chat_estimate=functools.partial(responses_to_chat, native=True),
                stream_error=watch.sse_error,
                stream_cut=watch.sse_cut,
            ),
            transport=transport,
            prompt_log="v1.prompt",
            on_admitted=on_admitted,
        )
    )
    upstream = answer.route.upstream
    if answer.chunks is not None:
        if answer.native:
            events = watch.relay(answer.chunks)
        else:
            events = chat_sse_to_response_events(
                answer.chunks,
                body,
                response_id=response_id,
                created_at=created_at,
                model=upstream,
                on_done=kept,
            )
        return Created(headers=answer.headers, events=events)
    if answer.native and previous is None:  # answered and stored as the upstream sent it
        if keeping is not None:
            keeping.keep_answer(answer.body)
        return Created(headers=answer.headers, body=answer.body)
    if answer.native:
        response = _decoder.decode(answer.body)
    else:
        completion = _decoder.decode(answer.body)
        named = completion.get("model") if isinstance(completion, dict) else None
        response = chat_to_response(
            completion,
            body,
            response_id=response_id,
            created_at=created_at,
            model=answered_model(named, upstream),
        )
    if isinstance(response, dict):
        if previous is not None:
            response = {**response, "previous_response_id": previous}
        if keeping is not None:
            keeping.keep(response)
    return Created(headers=answer.headers, body=msgspec.json.encode(response))
