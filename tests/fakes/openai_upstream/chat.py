"""`POST .../chat/completions`: the answer whole, or streamed as OpenAI's server-sent events."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from aiohttp import web

from tests.fakes.openai_upstream.errors import (
    STREAM_ERROR_EVENT,
    json_response,
    prelude,
    special_model,
    with_request_id,
)
from tests.fakes.openai_upstream.models import (
    ABORT_LOG,
    MODEL_CONTENT_FILTER,
    MODEL_CUT_STREAM,
    MODEL_SLOW_STREAM,
    MODEL_STALL_FIRST,
    MODEL_STALL_MIDWAY,
    MODEL_STALL_STREAM,
    MODEL_STREAM_ERROR,
    SLOW_STREAM_DELAY,
    SSE_CT,
    SYSTEM_FINGERPRINT,
    StreamAbort,
    encode,
)
from tests.fakes.openai_upstream.requests import ChatPlan, plan_chat
from tests.fakes.server import SLOW_SECONDS, RecordingStreamResponse


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body, key = await prelude(request)
    model = body.get("model") if isinstance(body, dict) else None
    plan = plan_chat(body)
    await special_model(request, model, key)
    if model == MODEL_CONTENT_FILTER:  # the output filter withheld the whole answer
        plan = replace(plan, pieces=[], finish_reason="content_filter", completion_tokens=0)
    completion_id = "chatcmpl-" + os.urandom(15).hex()
    created = int(time.time())
    if plan.stream:
        return await _stream_chat(request, plan, completion_id, created)

    return json_response(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": plan.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": [
                {
                    "index": index,
                    "message": _message(plan, index),
                    "logprobs": None,
                    "finish_reason": plan.finish_reason,
                }
                for index in range(plan.choices)
            ],
            "usage": plan.usage(),
        }
    )


def _message(plan: ChatPlan, choice: int) -> dict[str, Any]:
    """The whole message of choice `choice`."""
    if plan.tool_name is None:
        return {"role": "assistant", "content": plan.text, "refusal": None}
    if plan.legacy:
        call = {"name": plan.tool_name, "arguments": plan.text}
        return {"role": "assistant", "content": None, "refusal": None, "function_call": call}
    return {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {
                "id": plan.call_id(choice),
                "type": "function",
                "function": {"name": plan.tool_name, "arguments": plan.text},
            }
        ],
    }


def _chunk_deltas(plan: ChatPlan, choice: int) -> Iterator[tuple[dict[str, Any], str | None]]:
    """(delta, finish_reason) for every chunk of choice `choice`, in order."""
    if plan.tool_name is not None and plan.legacy:
        call = {"name": plan.tool_name, "arguments": ""}
        yield {"role": "assistant", "content": None, "function_call": call}, None
        for piece in plan.pieces:
            yield {"function_call": {"arguments": piece}}, None
    elif plan.tool_name is not None:
        yield (
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "index": 0,
                        "id": plan.call_id(choice),
                        "type": "function",
                        "function": {"name": plan.tool_name, "arguments": ""},
                    }
                ],
            },
            None,
        )
        for piece in plan.pieces:
            yield {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}, None
    else:
        yield {"role": "assistant", "content": ""}, None
        for piece in plan.pieces:
            yield {"content": piece}, None
        for i in range(1, plan.flood + 1):
            yield {"content": f" tok{i}" if i > 1 else "tok1"}, None
    yield {}, plan.finish_reason


async def _stream_chat(
    request: web.Request, plan: ChatPlan, completion_id: str, created: int
) -> web.StreamResponse:
    response = RecordingStreamResponse(
        status=200,
        headers=with_request_id({"Content-Type": SSE_CT, "Cache-Control": "no-cache"}),
    )
    await response.prepare(request)
    stall = plan.model == MODEL_STALL_STREAM
    pace = SLOW_STREAM_DELAY if plan.model == MODEL_SLOW_STREAM else 0.0
    sent = 0

    def frame(choices: list[dict[str, Any]], usage: dict[str, Any] | None) -> bytes:
        chunk: dict[str, Any] = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": plan.model,
            "system_fingerprint": SYSTEM_FINGERPRINT,
            "choices": choices,
        }
        if plan.include_usage:
            chunk["usage"] = usage
        return b"data: " + encode(chunk) + b"\n\n"

    def aborted() -> None:
        log = request.app.get(ABORT_LOG)
        if log is not None:
            log.append(StreamAbort(time.monotonic(), plan.model, plan.prompt, sent))

    # the choices' chunks interleaved, one choice a chunk, as OpenAI streams `n` > 1
    steps = zip(*(_chunk_deltas(plan, index) for index in range(plan.choices)), strict=True)
    try:
        if plan.model == MODEL_STALL_FIRST:
            await asyncio.sleep(request.app[SLOW_SECONDS])
        for i, step in enumerate(steps):
            for index, (delta, finish) in enumerate(step):
                choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
                await response.write(frame([choice], None))
                sent += 1
            finish_reason = step[0][1]
            if plan.model == MODEL_CUT_STREAM:
                if request.transport is not None:
                    request.transport.close()  # no ending: the connection is gone
                return response
            if plan.model == MODEL_STREAM_ERROR:
                await response.write(STREAM_ERROR_EVENT)
                await response.write_eof()
                return response
            if (stall and i == 0) or (plan.model == MODEL_STALL_MIDWAY and i == 2):
                await asyncio.sleep(request.app[SLOW_SECONDS])
            elif pace and finish_reason is None:
                await asyncio.sleep(pace)
        if plan.include_usage:
            await response.write(frame([], plan.usage()))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
    except ConnectionError:
        aborted()  # client went away mid-stream
    except asyncio.CancelledError:
        aborted()  # the connection closed while the fake waited: aiohttp cancels the handler
        raise
    return response
