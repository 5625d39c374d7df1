"""A cache hit is billed nothing and spends nothing from a budget: its usage row counts no
tokens and no cost, says what it saved; its request log record keeps the stored answer's
tokens and says `hit`; its audit row is a `chat.cache_hit`."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

from application.audit.formatting.billing import usage_recorded
from application.billing.subscribers import _usage, request_record
from application.billing.unwritten_spend import unwritten_spend
from domains.billing.budget import Budget
from domains.billing.model import Price
from domains.providers.events import CompletionFinished

PRICE = Price(input_per_mtok=Decimal(2), output_per_mtok=Decimal(8))


class Prices:
    def price_of(self, provider: str, model: str) -> Price | None:
        return PRICE


def call(cache: str) -> CompletionFinished:
    return CompletionFinished(
        request_id="r1",
        endpoint="chat",
        key_id="k1",
        team_id="t1",
        org_id="o1",
        user_id=None,
        provider="openai",
        model="gpt-4o",
        upstream_model="gpt-4o",
        stream=False,
        status=200,
        outcome="ok",
        input_tokens=1_000_000,
        output_tokens=500_000,
        cache=cache,
    )


@pytest.mark.parametrize("verdict", ["hit", "semantic_hit"])
def test_a_hit_costs_nothing_and_says_what_it_saved(verdict: str) -> None:
    hit, miss = _usage(call(verdict), Prices()), _usage(call("miss"), Prices())
    assert (miss.cost_usd, miss.saved_usd, miss.input_tokens) == (Decimal(6), 0, 1_000_000)
    assert (hit.cost_usd, hit.saved_usd) == (0, Decimal(6))
    assert (hit.input_tokens, hit.output_tokens) == (0, 0)
    record = request_record(call(verdict), hit)
    assert (record.cache, record.cost_picousd) == (verdict, 0)
    assert record.saved_picousd == 6 * 10**12
    assert (record.prompt_tokens, record.completion_tokens) == (1_000_000, 500_000)
    assert request_record(call("miss"), miss).cache == "miss"
    assert request_record(msgspec.structs.replace(call(""), cache=""), miss).cache == "off"
    row = usage_recorded(hit)
    assert row.action == "chat.cache_hit"
    assert row.data["saved_usd"] == "6"
    assert usage_recorded(miss).action == "chat.completion"


@pytest.mark.parametrize("verdict", ["hit", "semantic_hit"])
def test_a_hit_waiting_to_be_written_spends_nothing_from_a_budget(verdict: str) -> None:
    budget = Budget("key", "k1", "month", None, 1_000)
    now = datetime.now(UTC)
    calls = [msgspec.structs.replace(call(verdict), occurred_at=now)]
    spent = unwritten_spend(calls, budget, now, Prices())
    assert (spent.picousd, spent.tokens) == (0, 0)
