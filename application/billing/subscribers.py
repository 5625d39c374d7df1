"""How the billing context reacts to events."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from application.billing.uow import BillingUnitOfWork
from domains.billing.events import UsageRecorded
from domains.billing.model import PriceLookup
from domains.billing.request_log import RequestBodies, RequestRecord
from domains.providers.events import (  # the published language of providers
    CallBodies,
    CompletionFinished,
)
from domains.shared.ids import new_id
from domains.shared.money import to_picodollars
from domains.shared.usage import Usage

Scrub = Callable[[CallBodies], CallBodies]
"""What takes the secrets and personal data out of a call's bodies before they are kept."""


async def when_completion_finished_record_usage(
    events: list[CompletionFinished],
    uow: BillingUnitOfWork,
    *,
    prices: PriceLookup,
    scrub: Scrub | None = None,
) -> None:
    """Each call's usage row and its request log record, once each (by event id); and its
    bodies, scrubbed, when it carries them (without `scrub`, bodies are never kept)."""
    usages = [_usage(event, prices) for event in events]
    async with uow:
        written = await uow.usage.add_all(usages)
        # a replay, or a concurrent delivery that got there first, publishes nothing
        uow.publish(*(usage for usage in usages if usage.source_event_id in written))
        fresh = [event for event in events if event.event_id in written]
        await uow.requests.add_all(
            [
                request_record(event, usage)
                for event, usage in zip(events, usages, strict=True)
                if usage.source_event_id in written
            ]
        )
        if scrub is not None:
            await uow.requests.add_bodies(
                [
                    kept_bodies(event, scrub(event.bodies))
                    for event in fresh
                    if event.bodies is not None
                ]
            )
        await uow.commit()


def kept_bodies(event: CompletionFinished, bodies: CallBodies) -> RequestBodies:
    return RequestBodies(
        id=event.event_id,
        ts=event.occurred_at,
        request_id=event.request_id,
        prompt=bodies.prompt,
        response=bodies.response,
        prompt_truncated=bodies.prompt_truncated,
        response_truncated=bodies.response_truncated,
    )


CACHE_OFF = "off"
"""What the request log says of a call the gateway's response cache did not look up (and of a
record older than the cache)."""
CACHE_HITS = frozenset(("hit", "semantic_hit"))
"""What the request log says of an answer from the response cache (the same request's, or a
similar question's): billed nothing, recorded with what it saved."""


def request_record(event: CompletionFinished, usage: UsageRecorded) -> RequestRecord:
    """The request log's record of a call, with its tokens and cost as billed (`usage`)."""
    dialect = event.dialect or ("ws" if event.transport == "websocket" else event.endpoint)
    # a hit's usage row used nothing: its record says what the stored answer holds
    tokens = used(event) if event.cache in CACHE_HITS else usage
    # (an event older than its `dialect` field: the WebSocket chat's, or its endpoint)
    return RequestRecord(
        id=event.event_id,
        ts=event.occurred_at,
        request_id=event.request_id,
        org_id=event.org_id,
        team_id=event.team_id,
        user_id=event.user_id,
        key_id=event.key_id,
        dialect=dialect,
        transport=event.transport,
        stream=event.stream,
        requested_model=event.requested_model or event.model,
        model=event.model,
        upstream_model=event.upstream_model,
        provider=event.provider,
        deployment=event.deployment,
        route=event.route,
        status=event.status,
        outcome=event.outcome,
        error_code=event.error_code,
        cancelled=event.outcome == "cancelled",
        latency_ms=event.latency_ms,
        ttft_ms=event.ttft_ms,
        prompt_tokens=tokens.input_tokens,
        cached_tokens=tokens.cached_tokens,
        cache_write_tokens=tokens.cache_write_5m_tokens + tokens.cache_write_1h_tokens,
        completion_tokens=tokens.output_tokens,
        reasoning_tokens=tokens.reasoning_tokens,
        cost_picousd=to_picodollars(usage.cost_usd),
        priced=usage.priced,
        usage_reported=event.usage_reported,
        cache=event.cache or CACHE_OFF,
        saved_picousd=to_picodollars(usage.saved_usd),
        tags=event.tags,
        metadata=event.metadata,
        end_user=event.end_user,
    )


TOKENS_MAX = 2**31 - 1
"""The most tokens of one kind a call is billed for: what the ledger's columns hold. An upstream
that reports more (or less than none) is wrong; the count is brought within bounds rather than
have one absurd figure refuse the write of its whole batch again and again."""


def _tokens(count: int) -> int:
    return min(max(count, 0), TOKENS_MAX)


def used(event: CompletionFinished) -> Usage:
    """The call's tokens as it is billed for them: each count within the ledger's bounds, and
    each part of a total no larger than what is left of it (`Usage.parts`)."""
    tokens_in, tokens_out = _tokens(event.input_tokens), _tokens(event.output_tokens)
    reported = Usage(
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cached_tokens=event.cached_tokens,
        cache_write_5m_tokens=event.cache_write_5m_tokens,
        cache_write_1h_tokens=event.cache_write_1h_tokens,
        reasoning_tokens=event.reasoning_tokens,
    )
    _, read, write_5m, write_1h, _, reasoning = reported.parts()
    if (read, write_5m, write_1h, reasoning) == (
        event.cached_tokens,
        event.cache_write_5m_tokens,
        event.cache_write_1h_tokens,
        event.reasoning_tokens,
    ):
        return reported  # every part within its total: as reported
    return Usage(
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        cached_tokens=read,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
        reasoning_tokens=reasoning,
    )


def _usage(event: CompletionFinished, prices: PriceLookup) -> UsageRecorded:
    price = prices.price_of(event.provider, event.model)
    usage = used(event)
    cost = price.cost(usage) if price is not None else Decimal(0)
    saved = Decimal(0)
    if event.cache in CACHE_HITS:  # answered from the cache: nothing used or spent, cost saved
        cost, saved, usage = Decimal(0), cost, Usage()
    return UsageRecorded(
        usage_id=new_id(),
        source_event_id=event.event_id,
        request_id=event.request_id,
        org_id=event.org_id,
        team_id=event.team_id,
        user_id=event.user_id,
        key_id=event.key_id,
        provider=event.provider,
        model=event.model,
        endpoint=event.endpoint,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        cost_usd=cost,
        priced=price is not None,
        status=event.status,
        outcome=event.outcome,
        stream=event.stream,
        usage_reported=event.usage_reported,
        transport=event.transport,
        route=event.route,
        cache=event.cache,
        saved_usd=saved,
        occurred_at=event.occurred_at,
    )
