"""Forwarding a stream to the client, and recording the call however the stream ends:
finished, failed mid-way, closed because the client went away, or cut because it passed what
the call reserved.

A call admitted under a limit reserved its output tokens; the upstream was asked for no more
(`domains.providers.output_limit.limited_body`), and one that goes on regardless is cut once
what it sent passes the reservation: its usage, where it reports one on the way, or its text at
`CUT_CHARS_PER_TOKEN` characters a token (twice the usual 4, so an upstream that stops at the
limit is never cut short). The client is then told the answer ended at its length limit, in the
surface's own format, and the call is billed for no more output than it reserved.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import structlog

from application.providers.call import Call, Outcome
from domains.providers.admission import Ticket
from domains.providers.call_bodies import StreamKept
from domains.providers.errors import UpstreamError
from domains.providers.events import CompletionFinished
from domains.providers.ports import ChatStream, StreamTally, Usage

CHARS_PER_TOKEN = 4  # the estimate used only when a cut stream never reported its usage
CUT_CHARS_PER_TOKEN = 2 * CHARS_PER_TOKEN  # a stream past its reservation: see the docstring

log = structlog.get_logger("fluxrouter.gateway")

# The last bytes of a stream cut at its reservation, in the surface's format, told the usage
# it is billed for.
CutEnding = Callable[[Usage], bytes]


async def relay(
    stream: ChatStream,
    call: Call,
    body: dict[str, Any],
    record: Callable[[CompletionFinished], None],
    on_error: Callable[[UpstreamError], bytes],
    ticket: Ticket,
    on_cut: CutEnding,
    *,
    chunks: AsyncIterator[bytes] | None = None,
    first: bytes | None = None,
    idle: float | None = None,
    first_at: float | None = None,
) -> AsyncIterator[bytes]:
    """`chunks`: the stream's iterator when its `first` chunk was already read from it (the
    pipeline reads it before answering, so a stream that fails before its first byte can go
    to another deployment). `idle`: seconds without a chunk after which the stream is ended
    as if cut, billed for what it produced (`stream_idle_timeout`). `first_at`: when the
    `first` chunk came (`time.perf_counter`), for the record's time to first token."""
    outcome: Outcome = "cancelled"
    status = 200
    error_code = ""
    tally = stream.tally
    reserved = ticket.reserved
    most_tokens = reserved[1] if reserved is not None else sys.maxsize
    most_chars = most_tokens * CUT_CHARS_PER_TOKEN
    if reserved is not None:
        tally.most_chars = most_chars  # the adapter passes on nothing read past it
    cut = False
    stalled: list[bool] = []
    source = chunks if chunks is not None else aiter(stream)
    if idle is not None:
        source = _within_idle(source, idle, stalled)
    source, kept = _keeping(call, source, first)
    try:
        if first is not None:
            yield first
            if (
                tally.output_chars > most_chars
                or (tally.usage is not None and tally.usage.output_tokens > most_tokens)
            ) and not tally.finished:
                cut = True
        async for chunk in source if not cut else _nothing():
            yield chunk
            if (
                tally.output_chars > most_chars
                or (tally.usage is not None and tally.usage.output_tokens > most_tokens)
            ) and not tally.finished:
                cut = True
                break
        if stalled:
            cut = True
        if cut:
            await stream.aclose()  # the upstream sees the connection close: generation stops
            if stalled:
                # ended for the client, billed what it produced
                outcome, status, error_code = "error", 504, "upstream_timeout"
                log.warning(
                    "upstream.stream_idle",
                    provider=call.route.provider,
                    model=call.route.name,
                    idle_seconds=idle,
                    output_chars=tally.output_chars,
                )
            else:
                outcome = "ok"  # answered to its length limit
                log.warning(
                    "upstream.output_past_reservation",
                    provider=call.route.provider,
                    model=call.route.name,
                    reserved_output_tokens=most_tokens,
                    output_chars=tally.output_chars,
                )
            yield on_cut(billed_usage(tally, body, reserved)[0])
        else:
            outcome = "ok" if tally.finished else "error"
    except UpstreamError as error:
        outcome, status, error_code = "error", error.status, error.code
        yield on_error(error)
    finally:
        try:
            await stream.aclose()
        finally:  # charged even if closing the upstream is itself interrupted
            usage, reported = billed_usage(tally, body, reserved)
            ticket.settle(usage)
            record(
                call.finished(
                    status,
                    outcome,
                    usage,
                    usage_reported=reported,
                    error_code=error_code,
                    first_at=first_at,
                    response=kept.body() if kept is not None else None,
                )
            )


def _keeping(
    call: Call, source: AsyncIterator[bytes], first: bytes | None
) -> tuple[AsyncIterator[bytes], StreamKept | None]:
    """When the call's team or key keeps bodies, what is relayed is kept too (else nothing is
    done: the chunks go as they come)."""
    if call.prompt is None:
        return source, None
    kept = StreamKept(first)
    return kept.tee(source), kept


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


async def _within_idle(
    source: AsyncIterator[bytes], idle: float, stalled: list[bool]
) -> AsyncIterator[bytes]:
    """`source`'s chunks until it ends, or until it sends none for `idle` seconds (then
    `stalled` is told)."""
    while True:
        try:
            async with asyncio.timeout(idle):
                chunk = await anext(source)
        except StopAsyncIteration:
            return
        except TimeoutError:
            stalled.append(True)
            return
        yield chunk


def billed_usage(
    tally: StreamTally, body: dict[str, Any], reserved: tuple[int, int] | None
) -> tuple[Usage, bool]:
    """What a stream is billed for, and whether that is the upstream's own report: its usage,
    or (cut before it reported one, or before its end) its text at 4 characters a token, and
    the prompt the call reserved for (else estimated likewise); never more output than it
    reserved."""
    usage = tally.usage
    reported = usage is not None
    if usage is None or not tally.finished:
        produced = -(-tally.output_chars // CHARS_PER_TOKEN)
        if usage is None:
            prompt = reserved[0] if reserved is not None else estimate_prompt_tokens(body)
            usage = Usage(input_tokens=prompt, output_tokens=produced)
        elif usage.output_tokens < produced:
            usage = _with_output(usage, produced)
            reported = False
    return capped_usage(usage, reserved, reported)


def capped_usage(
    usage: Usage, reserved: tuple[int, int] | None, reported: bool
) -> tuple[Usage, bool]:
    """``usage`` with no more output tokens than ``reserved`` allows (a call is never billed
    past its reservation), and whether it is still the upstream's own report."""
    if reserved is not None and usage.output_tokens > reserved[1]:
        return _with_output(usage, reserved[1]), False
    return usage, reported


def _with_output(usage: Usage, output_tokens: int) -> Usage:
    return usage.with_output(output_tokens)


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


def openai_sse_cut(completion_id: str, model: str, choices: int, include_usage: bool) -> CutEnding:
    """The end of an OpenAI stream cut at its reservation: every choice finished for its
    `length`, the usage chunk if the client asked for usage, and `[DONE]`."""

    def ending(usage: Usage) -> bytes:
        base = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        finished: list[dict[str, Any]] = [
            {"index": index, "delta": {}, "logprobs": None, "finish_reason": "length"}
            for index in range(choices)
        ]
        out = b"data: " + msgspec.json.encode({**base, "choices": finished}) + b"\n\n"
        if include_usage:
            counts = {
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": usage.input_tokens + usage.output_tokens,
                "prompt_tokens_details": {"cached_tokens": usage.cached_tokens},
            }
            out += b"data: " + msgspec.json.encode({**base, "choices": [], "usage": counts})
            out += b"\n\n"
        return out + b"data: [DONE]\n\n"

    return ending
