"""Forwarding a stream to the client, and recording the call however the stream ends:
finished, failed mid-way, or closed because the client went away."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from application.providers.call import Call, Outcome
from domains.providers.admission import Ticket
from domains.providers.errors import UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.ports import ChatStream, Usage

CHARS_PER_TOKEN = 4  # the estimate used only when a cut stream never reported its usage


async def relay(
    stream: ChatStream,
    call: Call,
    body: dict[str, Any],
    record: Callable[[CompletionFinished], None],
    on_error: Callable[[UpstreamError], bytes],
    ticket: Ticket,
) -> AsyncIterator[bytes]:
    outcome: Outcome = "cancelled"
    status = 200
    try:
        async for chunk in stream:
            yield chunk
        outcome = "ok" if stream.tally.finished else "error"
    except UpstreamError as error:
        outcome, status = "error", error.status
        yield on_error(error)
    finally:
        try:
            await stream.aclose()
        finally:  # charged even if closing the upstream is itself interrupted
            tally = stream.tally
            usage = tally.usage or Usage(
                input_tokens=estimate_prompt_tokens(body),
                output_tokens=-(-tally.output_chars // CHARS_PER_TOKEN),
            )
            ticket.settle(usage.input_tokens, usage.output_tokens, usage.cached_tokens)
            record(call.finished(status, outcome, usage, usage_reported=tally.usage is not None))


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    return -(-len(msgspec.json.encode(body.get("messages", []))) // CHARS_PER_TOKEN)


def openai_sse_error(error: UpstreamError) -> bytes:
    """An error in the middle of an OpenAI stream: the SDKs raise it."""
    payload = {
        "error": {
            "message": error.message,
            "type": error.error_type,
            "param": error.param,
            "code": error.code,
        }
    }
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"
