"""The fake Anthropic application: messages, token counts, models, and every other path a 404."""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from aiohttp import web

from tests.fakes.anthropic_upstream.blocks import is_new_api
from tests.fakes.anthropic_upstream.conversation import parse_conversation, plan_message
from tests.fakes.anthropic_upstream.errors import (
    anthropic_error,
    invalid_request,
    json_response,
    prelude,
    special_model,
)
from tests.fakes.anthropic_upstream.models import (
    COUNT_TOKENS_FIELDS,
    MODEL_MAX_INPUT_TOKENS,
    MODEL_MAX_TOKENS,
    MODEL_REFUSAL,
    MODELS,
)
from tests.fakes.anthropic_upstream.streaming import stream_message
from tests.fakes.server import (
    DEFAULT_SLOW_SECONDS,
    RequestLog,
    guarded,
    new_app,
)


async def _messages(request: web.Request) -> web.StreamResponse:
    body = await prelude(request)
    plan = plan_message(body, new_api=is_new_api(request.headers["anthropic-version"]))
    await special_model(request, plan.model)
    if plan.model == MODEL_REFUSAL:  # as Claude declines: no content, stop_reason "refusal"
        plan = replace(plan, pieces=[], stop_reason="refusal", stop_sequence=None, output_tokens=0)
    message_id = "msg_" + os.urandom(12).hex()
    if plan.stream:
        return await stream_message(request, plan, message_id)
    return json_response(
        {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": [] if plan.stop_reason == "refusal" else plan.content(),
            "stop_reason": plan.stop_reason,
            "stop_sequence": plan.stop_sequence,
            "usage": plan.usage(),
        }
    )


async def _count_tokens(request: web.Request) -> web.StreamResponse:
    body = await prelude(request)
    new_api = is_new_api(request.headers["anthropic-version"])
    convo = parse_conversation(body, allowed=COUNT_TOKENS_FIELDS, new_api=new_api)
    await special_model(request, convo.model)
    return json_response({"input_tokens": max(convo.input_words, 1)})


def _model_object(model_id: str, display_name: str, created_at: str) -> dict[str, Any]:
    return {
        "type": "model",
        "id": model_id,
        "display_name": display_name,
        "created_at": created_at,
        "lifecycle": "active",
        "max_input_tokens": MODEL_MAX_INPUT_TOKENS,
        "max_tokens": MODEL_MAX_TOKENS,
    }


async def _list_models(request: web.Request) -> web.StreamResponse:
    await prelude(request)
    ids = [m[0] for m in MODELS]
    raw_limit = request.query.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 1000:
        raise invalid_request("limit: Input should be greater than or equal to 1 and at most 1000")
    limit = int(raw_limit)
    after, before = request.query.get("after_id"), request.query.get("before_id")
    if before is not None:  # the page that ends just before ``before_id``
        end = ids.index(before) if before in ids else len(ids)
        start = max(end - limit, 0)
        has_more = start > 0
    else:  # the page that starts just after ``after_id``
        start = ids.index(after) + 1 if after in ids else 0
        end = min(start + limit, len(ids))
        has_more = end < len(ids)
    window = MODELS[start:end]
    return json_response(
        {
            "data": [_model_object(*m) for m in window],
            "has_more": has_more,
            "first_id": window[0][0] if window else None,
            "last_id": window[-1][0] if window else None,
        }
    )


async def _retrieve_model(request: web.Request) -> web.StreamResponse:
    await prelude(request)
    model_id = request.match_info["model"]
    for model in MODELS:
        if model[0] == model_id:
            return json_response(_model_object(*model))
    return anthropic_error(404, "not_found_error", f"model: {model_id}")


async def _not_found(request: web.Request) -> web.StreamResponse:
    await prelude(request)
    return anthropic_error(404, "not_found_error", "Not Found")


def create_app(
    expected_key: str | None = None,
    *,
    record: bool = True,
    slow_seconds: float = DEFAULT_SLOW_SECONDS,
    request_log: RequestLog[Any] | None = None,
) -> web.Application:
    """Build the fake Anthropic application.

    ``expected_key``: if set, any other key (``x-api-key`` or bearer) gets 401.
    ``record``: keep a :class:`RequestLog` in ``app[REQUEST_LOG]`` (``request_log`` if given).
    ``slow_seconds``: delay used by ``fake-slow``.
    """
    app = new_app(expected_key, record=record, slow_seconds=slow_seconds, request_log=request_log)
    app.router.add_post("/v1/messages", guarded(_messages))
    app.router.add_post("/v1/messages/count_tokens", guarded(_count_tokens))
    app.router.add_get("/v1/models", guarded(_list_models))
    app.router.add_get("/v1/models/{model}", guarded(_retrieve_model))
    app.router.add_route("*", "/v1/{tail:.*}", guarded(_not_found))
    return app
