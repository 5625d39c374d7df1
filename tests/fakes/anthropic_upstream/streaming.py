"""A reply streamed as Anthropic's server-sent events (message_start ... message_stop)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from aiohttp import web

from tests.fakes.anthropic_upstream.conversation import MessagePlan
from tests.fakes.anthropic_upstream.errors import error_payload, new_request_id
from tests.fakes.anthropic_upstream.models import MODEL_STREAM_ERROR, SSE_CT, encode
from tests.fakes.server import RecordingStreamResponse, chat_pieces


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + encode(data) + b"\n\n"


def _stream_events(plan: MessagePlan) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event name, data) for every SSE event after ``message_start``, in order: a thinking
    block first when the request thinks (its text in `thinking_delta` pieces, then its
    `signature_delta`), then the text or the tool use; a refusal: no block at all."""
    index = 0
    if plan.stop_reason == "refusal":
        yield (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "refusal", "stop_sequence": None},
                "usage": {"output_tokens": 0},
            },
        )
        yield "message_stop", {"type": "message_stop"}
        return
    if plan.thinking is not None:
        start = {"type": "thinking", "thinking": "", "signature": ""}
        yield (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": start},
        )
        for piece in chat_pieces(plan.thinking) if plan.thinking else ():
            delta = {"type": "thinking_delta", "thinking": piece}
            yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}
        signature = {"type": "signature_delta", "signature": plan.thinking_block()[0]["signature"]}
        yield "content_block_delta", {"type": "content_block_delta", "index": 0, "delta": signature}
        yield "content_block_stop", {"type": "content_block_stop", "index": 0}
        index = 1
    if plan.tool_name is not None:
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": plan.tool_use_id,
            "name": plan.tool_name,
            "input": {},
        }
        deltas = [{"type": "input_json_delta", "partial_json": p} for p in plan.pieces]
    else:
        block = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": p} for p in plan.pieces]
    yield (
        "content_block_start",
        {"type": "content_block_start", "index": index, "content_block": block},
    )
    yield "ping", {"type": "ping"}
    for delta in deltas:
        yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
    yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": plan.stop_reason, "stop_sequence": plan.stop_sequence},
            "usage": {"output_tokens": plan.output_tokens},
        },
    )
    yield "message_stop", {"type": "message_stop"}


async def stream_message(
    request: web.Request, plan: MessagePlan, message_id: str
) -> web.StreamResponse:
    response = RecordingStreamResponse(
        status=200,
        headers={
            "Content-Type": SSE_CT,
            "Cache-Control": "no-cache",
            "request-id": new_request_id(),
        },
    )
    await response.prepare(request)
    start = {
        "type": "message_start",
        "message": {
            "id": message_id,
            "type": "message",
            "role": "assistant",
            "model": plan.model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": plan.usage(output_tokens=1),
        },
    }
    try:
        await response.write(_sse("message_start", start))
        if plan.model == MODEL_STREAM_ERROR:
            await response.write(_sse("error", error_payload("overloaded_error", "Overloaded")))
        else:
            for event, data in _stream_events(plan):
                await response.write(_sse(event, data))
        await response.write_eof()
    except ConnectionError:
        pass  # client went away mid-stream
    return response
