"""Billing charges each finished completion once, at the current price."""

from __future__ import annotations

import functools
from decimal import Decimal

import msgspec

from application.audit.formatting import audit_facts
from application.billing.subscribers import TOKENS_MAX, when_completion_finished_record_usage
from domains.billing.events import UsageRecorded
from domains.billing.limits import LimitsSnapshot
from domains.billing.model import Price
from tests.support.events import WHEN, completion
from tests.unit.application.fakes import UowFactory

PRICES = LimitsSnapshot.of(
    prices={
        ("openai", "gpt-4o-mini"): Price(
            Decimal("0.15"), Decimal("0.60"), cached_input_per_mtok=Decimal("0.075")
        )
    }
)
record_usage = functools.partial(when_completion_finished_record_usage, prices=PRICES)
# a partial's keyword can be given again: `prices=EVERY_RATE` prices with another book


async def test_usage_is_recorded_at_the_current_price() -> None:
    factory = UowFactory()
    event = completion(input_tokens=1234, output_tokens=567, cached_tokens=0)
    uow = factory()

    await record_usage([event], uow)

    usage = factory.store.usage[event.event_id]
    assert usage.cost_usd == Decimal("0.0005253")
    assert usage.priced is True
    assert (usage.input_tokens, usage.output_tokens, usage.cached_tokens) == (1234, 567, 0)
    assert (usage.org_id, usage.team_id, usage.key_id, usage.user_id) == (
        event.org_id,
        event.team_id,
        event.key_id,
        event.user_id,
    )
    assert (usage.provider, usage.model, usage.endpoint) == ("openai", "gpt-4o-mini", "chat")
    assert usage.request_id == event.request_id
    assert usage.source_event_id == event.event_id
    assert usage.occurred_at == WHEN == event.occurred_at
    assert uow.committed
    assert uow.collect_new_events() == [usage]  # published for the projections


async def test_cached_tokens_are_charged_at_the_cached_price() -> None:
    factory = UowFactory()
    event = completion(input_tokens=1000, output_tokens=0, cached_tokens=400)
    await record_usage([event], factory())
    # 600 * 0.15 + 400 * 0.075 = 90 + 30 per Mtok
    assert factory.store.usage[event.event_id].cost_usd == Decimal("0.00012")


EVERY_RATE = LimitsSnapshot.of(
    prices={
        ("anthropic", "claude"): Price(
            Decimal(3),
            Decimal(15),
            cached_input_per_mtok=Decimal("0.3"),
            cache_write_5m_per_mtok=Decimal("3.75"),
            cache_write_1h_per_mtok=Decimal(6),
            reasoning_output_per_mtok=Decimal(20),
        )
    }
)


async def test_every_kind_of_token_is_recorded_and_charged_at_its_rate() -> None:
    factory = UowFactory()
    event = completion(
        provider="anthropic",
        model="claude",
        input_tokens=1000,
        cached_tokens=600,
        cache_write_5m_tokens=100,
        cache_write_1h_tokens=200,
        output_tokens=500,
        reasoning_tokens=300,
    )
    await record_usage([event], factory(), prices=EVERY_RATE)
    usage = factory.store.usage[event.event_id]
    # 100 * 3 + 600 * 0.3 + 100 * 3.75 + 200 * 6 + 200 * 15 + 300 * 20 per Mtok
    assert usage.cost_usd == Decimal("0.011055")
    assert (usage.cached_tokens, usage.cache_write_5m_tokens, usage.cache_write_1h_tokens) == (
        600,
        100,
        200,
    )
    assert (usage.input_tokens, usage.output_tokens, usage.reasoning_tokens) == (1000, 500, 300)
    facts = audit_facts(usage)
    assert facts is not None
    assert {name: facts.data[name] for name in ("cache_write_5m_tokens", "reasoning_tokens")} == {
        "cache_write_5m_tokens": 100,
        "reasoning_tokens": 300,
    }


async def test_parts_larger_than_their_totals_are_recorded_as_billed() -> None:
    factory = UowFactory()
    event = completion(
        provider="anthropic",
        model="claude",
        input_tokens=100,
        cached_tokens=80,
        cache_write_5m_tokens=50,
        cache_write_1h_tokens=50,
        output_tokens=10,
        reasoning_tokens=40,
    )
    await record_usage([event], factory(), prices=EVERY_RATE)
    usage = factory.store.usage[event.event_id]
    assert (usage.cached_tokens, usage.cache_write_5m_tokens, usage.cache_write_1h_tokens) == (
        80,
        20,
        0,
    )
    assert usage.reasoning_tokens == 10
    assert usage.cost_usd == (80 * Decimal("0.3") + 20 * Decimal("3.75") + 10 * 20) / 10**6


async def test_an_unpriced_model_costs_zero_and_is_marked_unpriced() -> None:
    factory = UowFactory()
    event = completion(provider="local", model="llama3")
    await record_usage([event], factory())
    usage = factory.store.usage[event.event_id]
    assert usage.cost_usd == 0
    assert usage.priced is False


async def test_price_is_looked_up_by_provider_too() -> None:
    factory = UowFactory()
    event = completion(provider="azure", model="gpt-4o-mini")
    await record_usage([event], factory())
    assert factory.store.usage[event.event_id].priced is False


async def test_a_batch_records_one_usage_per_event() -> None:
    factory = UowFactory()
    events = [completion(request_id=f"r{i}", input_tokens=i * 1000) for i in range(1, 4)]
    uow = factory()
    await record_usage(events, uow)
    assert set(factory.store.usage) == {event.event_id for event in events}
    assert factory.store.commits == 1
    published = uow.collect_new_events()
    assert [u.source_event_id for u in published] == [e.event_id for e in events]  # type: ignore[attr-defined]
    assert all(isinstance(u, UsageRecorded) for u in published)


async def test_a_replay_records_nothing_new() -> None:
    factory = UowFactory()
    event = completion()
    await record_usage([event], factory())
    first = factory.store.usage[event.event_id]

    replay = factory()
    await record_usage([event], replay)

    assert len(factory.store.usage) == 1
    assert factory.store.usage[event.event_id] is first
    assert replay.collect_new_events() == []


async def test_a_partial_replay_records_only_the_new_events() -> None:
    factory = UowFactory()
    old, new = completion(request_id="old"), completion(request_id="new")
    await record_usage([old], factory())
    again = factory()
    await record_usage([old, new], again)
    assert set(factory.store.usage) == {old.event_id, new.event_id}
    assert [u.source_event_id for u in again.collect_new_events()] == [new.event_id]  # type: ignore[attr-defined]


async def test_a_cancel_over_the_websocket_is_audited_as_such() -> None:
    factory = UowFactory()
    event = completion(outcome="cancelled", transport="websocket", usage_reported=False)
    await record_usage([event], factory())
    usage = factory.store.usage[event.event_id]
    facts = audit_facts(usage)
    assert (usage.outcome, usage.transport) == ("cancelled", "websocket")
    assert facts.data["outcome"] == "cancelled"
    assert facts.data["transport"] == "websocket"
    assert facts.data["usage_reported"] is False
    assert completion(transport="http").transport == "http"


async def test_absurd_token_counts_are_billed_within_the_ledgers_bounds() -> None:
    """An upstream that reports billions of billions of tokens, or fewer than none, must not
    leave a usage row its ledger cannot store (and so refuse its whole batch, again and again)."""
    factory = UowFactory()
    huge = completion(event_id="huge", input_tokens=10**12, output_tokens=-5, cached_tokens=10**13)
    await record_usage([huge], factory())
    usage = factory.store.usage["huge"]
    assert (usage.input_tokens, usage.output_tokens, usage.cached_tokens) == (
        TOKENS_MAX,
        0,
        TOKENS_MAX,
    )
    # all of the input cached: charged at the cached price, nothing for the output
    assert usage.cost_usd == Decimal(TOKENS_MAX) * Decimal("0.075") / 1_000_000


async def test_each_call_has_one_request_log_record_with_its_cost_even_when_replayed() -> None:
    factory = UowFactory()
    event = msgspec.structs.replace(
        completion(input_tokens=1234, output_tokens=567, cached_tokens=0),
        requested_model="auto",
        route="auto tier=simple; only openai/gpt-4o-mini",
        deployment="openai/gpt-4o-mini",
        dialect="messages",
        ttft_ms=12.5,
        latency_ms=40.0,
        tags=("nightly",),
        metadata={"feature": "search"},
        end_user="u-1",
    )
    await record_usage([event], factory())
    await record_usage([event], factory())  # a replay writes nothing again

    (record,) = factory.store.requests.values()
    assert record.id == event.event_id
    assert record.ts == event.occurred_at
    assert record.cost_picousd == 525_300_000  # the usage row's 0.0005253 USD
    assert (record.requested_model, record.model, record.dialect) == (
        "auto",
        "gpt-4o-mini",
        "messages",
    )
    assert (record.route, record.deployment) == (event.route, "openai/gpt-4o-mini")
    assert (record.latency_ms, record.ttft_ms, record.cache) == (40.0, 12.5, "off")
    assert (record.prompt_tokens, record.completion_tokens) == (1234, 567)
    assert record.searchable_tags() == "\x1fnightly\x1ffeature=search\x1fuser=u-1\x1f"


async def test_an_older_record_without_a_dialect_is_logged_by_its_endpoint_and_transport() -> None:
    factory = UowFactory()
    chat = completion(input_tokens=1, output_tokens=1, transport="http")
    socket = msgspec.structs.replace(
        completion(input_tokens=1, output_tokens=1), transport="websocket"
    )
    await record_usage([chat, socket], factory())
    dialects = {record.id: record.dialect for record in factory.store.requests.values()}
    assert dialects == {chat.event_id: "chat", socket.event_id: "ws"}
    assert factory.store.requests[chat.event_id].requested_model == "gpt-4o-mini"
