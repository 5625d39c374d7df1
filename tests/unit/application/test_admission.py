"""Admission with the in-process limit store: who pays nothing, who is refused and
why, what a settlement charges, how a lost window is rebuilt, and which thresholds are told."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from application.billing.admission import FREE, BudgetAdmission, UnpricedPolicy
from domains.billing.budget import ZERO, Amount, Budget
from domains.billing.errors import ModelUnpriced
from domains.billing.events import BudgetThresholdCrossed
from domains.billing.limits import LimitsSnapshot, RateLimit
from domains.billing.model import Price
from domains.shared.caller import Caller
from domains.shared.errors import LimitExceeded
from domains.shared.usage import Usage
from infrastructure.billing.memory_limit_store import InMemoryLimitStore

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
USD = 10**12
CALLER = Caller(key_id="k1", key_prefix="fr-abcdefgh", team_id="t1", org_id="o1", user_id="u1")
PRICE = Price(input_per_mtok=Decimal("1"), output_per_mtok=Decimal("2"))  # $1 / $2 per Mtok


class Estimates:
    """Counts how often admission asked for the token estimate."""

    def __init__(self, prompt: int, output: int) -> None:
        self.calls = 0
        self.figures = (prompt, output)

    def __call__(self) -> tuple[int, int]:
        self.calls += 1
        return self.figures


class Harness:
    def __init__(
        self,
        budgets: Sequence[Budget] = (),
        rates: Sequence[RateLimit] = (),
        *,
        priced: bool = True,
        unpriced: UnpricedPolicy = "refuse",
        database_spend: Amount = ZERO,
    ) -> None:
        prices = {("openai", "m"): PRICE} if priced else {}
        self.snapshot = LimitsSnapshot.of(budgets, rates, prices)
        store = InMemoryLimitStore()
        self.ledger = store.ledger
        self.published: list[BudgetThresholdCrossed] = []
        self.seeded: list[str] = []
        self.database_spend = database_spend

        async def spent(budget: Budget, now: datetime) -> Amount:
            self.seeded.append(budget.key(now))
            return self.database_spend

        async def publish(crossings: Sequence[BudgetThresholdCrossed]) -> None:
            self.published.extend(crossings)

        self.admission = BudgetAdmission(
            limits=lambda: self.snapshot,
            store=store,
            spent_in_window=spent,
            unpriced=unpriced,
            publish=publish,
            clock=lambda: NOW,
        )

    async def spent(self, budget: Budget) -> tuple[Amount, Amount]:
        await self.admission.wait_settled()
        return await self.ledger.spent(budget, now=NOW)


def team_usd(dollars: int, period: str = "month") -> Budget:
    return Budget("team", "t1", period, dollars * USD, None)  # type: ignore[arg-type]


async def test_a_caller_without_limits_costs_no_count_and_no_ledger_call() -> None:
    harness = Harness()
    estimate = Estimates(10, 10)
    ticket = await harness.admission.admit(CALLER, "openai", "m", estimate)
    assert ticket is FREE
    assert estimate.calls == 0
    assert ticket.headers == {}


async def test_the_largest_cost_is_held_then_settled_to_what_was_used() -> None:
    budget = team_usd(1)
    harness = Harness([budget])
    ticket = await harness.admission.admit(CALLER, "openai", "m", Estimates(1_000, 2_000))
    # 1,000 in at $1/Mtok and 2,000 out at $2/Mtok: $0.005 held
    assert await harness.ledger.spent(budget, now=NOW) == (Amount(0, 0), Amount(5 * 10**9, 3000))
    ticket.settle(Usage(input_tokens=800, output_tokens=100))
    ticket.settle(Usage(input_tokens=800, output_tokens=100))  # a ticket is charged once
    assert await harness.spent(budget) == (Amount(10**9, 900), Amount(0, 0))


async def test_a_request_that_could_overrun_the_budget_is_refused_and_holds_nothing() -> None:
    budget = Budget("key", "k1", "day", None, 5_000)
    harness = Harness([team_usd(1), budget])
    first = await harness.admission.admit(CALLER, "openai", "m", Estimates(1_000, 3_000))
    with pytest.raises(LimitExceeded) as refused:
        await harness.admission.admit(CALLER, "openai", "m", Estimates(1_000, 1_000))
    error = refused.value
    assert (error.code, error.error_type, error.retryable) == (
        "budget_exceeded",
        "insufficient_quota",
        False,
    )
    assert "1000 tokens left" in error.message
    assert error.headers["Retry-After"] == str(12 * 3600)  # the next UTC day starts at midnight
    first.release()
    assert await harness.spent(budget) == (Amount(0, 0), Amount(0, 0))
    await harness.admission.admit(CALLER, "openai", "m", Estimates(1_000, 1_000))


async def test_a_lost_window_is_seeded_from_the_database_before_it_is_used() -> None:
    budget = team_usd(1)
    harness = Harness([budget], database_spend=Amount(999 * 10**9, 10))  # $0.999 spent
    with pytest.raises(LimitExceeded):
        await harness.admission.admit(CALLER, "openai", "m", Estimates(1_000, 1_000))
    assert harness.seeded == ["team:t1:month:2026-11"]
    await harness.admission.admit(CALLER, "openai", "m", Estimates(100, 100))
    assert harness.seeded == ["team:t1:month:2026-11"]  # once per window


async def test_an_unpriced_model_cannot_slip_past_a_usd_budget() -> None:
    harness = Harness([team_usd(1)], priced=False)
    with pytest.raises(ModelUnpriced):
        await harness.admission.admit(CALLER, "openai", "m", Estimates(10, 10))


async def test_tokens_only_serves_an_unpriced_model_counting_its_tokens() -> None:
    usd, tokens = team_usd(1), Budget("team", "t1", "day", None, 1_000)
    harness = Harness([usd, tokens], priced=False, unpriced="tokens_only")
    ticket = await harness.admission.admit(CALLER, "openai", "m", Estimates(10, 10))
    ticket.settle(Usage(input_tokens=7, output_tokens=3))
    assert await harness.spent(tokens) == (Amount(0, 10), Amount(0, 0))
    assert await harness.spent(usd) == (Amount(0, 10), Amount(0, 0))


async def test_rate_limits_refuse_with_their_headers_and_a_budget_refusal_takes_nothing() -> None:
    rate = RateLimit("key", "k1", rpm=2, tpm=10_000)
    harness = Harness([Budget("key", "k1", "total", None, 5_000)], [rate])
    ticket = await harness.admission.admit(CALLER, "openai", "m", Estimates(1_000, 3_000))
    assert ticket.headers["x-ratelimit-limit-requests"] == "2"
    assert ticket.headers["x-ratelimit-remaining-requests"] == "1"
    assert ticket.headers["x-ratelimit-remaining-tokens"] == "6000"
    with pytest.raises(LimitExceeded) as over_budget:  # the budget refuses: no request is taken
        await harness.admission.admit(CALLER, "openai", "m", Estimates(1_000, 2_000))
    assert over_budget.value.code == "budget_exceeded"
    second = await harness.admission.admit(CALLER, "openai", "m", Estimates(10, 10))
    assert second.headers["x-ratelimit-remaining-requests"] == "0"
    assert second.headers["x-ratelimit-remaining-tokens"] == "5980"
    with pytest.raises(LimitExceeded) as over_rate:
        await harness.admission.admit(CALLER, "openai", "m", Estimates(10, 10))
    error = over_rate.value
    assert (error.code, error.error_type, error.retryable) == (
        "rate_limit_exceeded",
        "requests",
        True,
    )
    assert int(error.headers["Retry-After"]) >= 1
    assert error.headers["x-ratelimit-remaining-requests"] == "0"


async def test_a_settlement_gives_the_unused_tokens_back() -> None:
    rate = RateLimit("key", "k1", rpm=None, tpm=100)  # a token back every 0.6 s
    harness = Harness([team_usd(1)], [rate])
    ticket = await harness.admission.admit(CALLER, "openai", "m", Estimates(10, 30))
    assert ticket.headers["x-ratelimit-remaining-tokens"] == "60"
    ticket.settle(Usage(input_tokens=10, output_tokens=5))  # 15 of the 40 taken were used
    await harness.admission.wait_settled()
    after = await harness.admission.admit(CALLER, "openai", "m", Estimates(0, 0))
    assert after.headers["x-ratelimit-remaining-tokens"] == "85"


async def test_a_request_larger_than_the_tpm_is_refused_for_good() -> None:
    harness = Harness([], [RateLimit("team", "t1", rpm=None, tpm=1_000)])
    with pytest.raises(LimitExceeded) as refused:
        await harness.admission.admit(CALLER, "openai", "m", Estimates(900, 200))
    assert refused.value.retryable is False
    assert "Retry-After" not in refused.value.headers


async def test_each_threshold_is_told_once_by_the_settlement_that_crosses_it() -> None:
    budget = Budget("team", "t1", "month", 10 * USD, None)
    harness = Harness([budget])
    for used in (4_000_000, 1_000_000, 3_000_000, 1_000_000, 1_000_000):
        ticket = await harness.admission.admit(CALLER, "openai", "m", Estimates(1_000_000, 0))
        ticket.settle(
            Usage(input_tokens=used, output_tokens=0)
        )  # $1 per Mtok: the spend goes $4, $5, $8, $9, $10
        await harness.admission.wait_settled()
    assert [(e.percent, e.spent, e.limit) for e in harness.published] == [
        (50, "5", "10"),
        (80, "8", "10"),
        (100, "10", "10"),
    ]
    assert {(e.scope, e.scope_id, e.measure, e.window) for e in harness.published} == {
        ("team", "t1", "usd", "team:t1:month:2026-11")
    }
