"""How the billing context reacts to events."""

from __future__ import annotations

from decimal import Decimal

from application.uow import UnitOfWork
from domains.billing.events import UsageRecorded
from domains.billing.model import PriceLookup
from domains.providers.events import CompletionFinished  # the published language of providers
from domains.shared.ids import new_id


async def when_completion_finished_record_usage(
    events: list[CompletionFinished], uow: UnitOfWork, *, prices: PriceLookup
) -> None:
    usages = [_usage(event, prices) for event in events]
    async with uow:
        written = await uow.usage.add_all(usages)
        # a replay, or a concurrent delivery that got there first, publishes nothing
        uow.publish(*(usage for usage in usages if usage.source_event_id in written))
        await uow.commit()


def _usage(event: CompletionFinished, prices: PriceLookup) -> UsageRecorded:
    price = prices.price_of(event.provider, event.model)
    cost = (
        price.cost(event.input_tokens, event.output_tokens, event.cached_tokens)
        if price is not None
        else Decimal(0)
    )
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
        input_tokens=event.input_tokens,
        output_tokens=event.output_tokens,
        cached_tokens=event.cached_tokens,
        cost_usd=cost,
        priced=price is not None,
        status=event.status,
        outcome=event.outcome,
        stream=event.stream,
        usage_reported=event.usage_reported,
        transport=event.transport,
        occurred_at=event.occurred_at,
    )
