"""Billing commands through the whole bus, over the in-memory unit of work."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.billing.commands import SetBudget, SetBudgetCap, SetPrice, SetRateLimit
from domains.billing.budget import Budget
from domains.billing.budget_cap import BudgetCap, CapRefusal
from domains.billing.events import (
    BudgetAboveCapRefused,
    BudgetCapSet,
    BudgetSet,
    PriceSet,
    PriceTierRates,
    RateLimitSet,
)
from domains.billing.limits import RateLimit
from domains.billing.model import Price, PriceTier
from domains.shared.errors import InvalidValue
from domains.shared.money import to_picodollars
from tests.unit.application.bus_harness import Bus

TESTED = {SetBudget, SetBudgetCap, SetRateLimit, SetPrice}


@pytest.fixture
def h() -> Bus:
    return Bus()


def budget(max_usd: str | None, *, scope: str = "team", period: str = "month") -> SetBudget:
    return SetBudget(
        scope=scope,  # type: ignore[arg-type]
        scope_id="o1" if scope == "org" else "t1",
        org_id="o1",
        period=period,  # type: ignore[arg-type]
        max_usd=None if max_usd is None else Decimal(max_usd),
        max_tokens=None,
        actor="admin",
    )


async def test_set_budget_stores_it_and_publishes_budget_set(h: Bus) -> None:
    stored = await h.handle(budget("12.5"))
    assert stored == Budget(
        scope="team",
        scope_id="t1",
        period="month",
        max_picousd=to_picodollars(Decimal("12.5")),
        max_tokens=None,
    )
    assert h.store.limits.budgets == {("team", "t1", "month"): stored}
    event = h.only(BudgetSet)
    assert (event.scope_id, event.max_usd, event.actor) == ("t1", Decimal("12.5"), "admin")
    assert h.limits.current().budgets[("team", "t1")] == (stored,)  # reloaded on BudgetSet


async def test_a_budget_without_limits_removes_it(h: Bus) -> None:
    await h.quietly(budget("5"))
    await h.handle(budget(None))
    assert h.store.limits.budgets == {}
    assert h.only(BudgetSet).max_usd is None


async def test_a_budget_above_the_org_cap_is_refused_and_only_the_refusal_published(
    h: Bus,
) -> None:
    await h.quietly(
        SetBudgetCap(
            org_id="o1", period="month", max_usd=Decimal("10"), max_tokens=None, actor="op"
        )
    )
    before = dict(h.store.limits.budgets)
    answer = await h.handle(budget("11"))
    assert isinstance(answer, CapRefusal)
    assert h.store.limits.budgets == before
    refused = h.only(BudgetAboveCapRefused)
    assert (refused.org_id, refused.max_usd) == ("o1", Decimal("11"))
    assert not any(isinstance(e, BudgetSet) for e in h.events)


async def test_set_budget_cap_clamps_the_org_budget_and_publishes_both(h: Bus) -> None:
    await h.quietly(budget("50", scope="org"))
    cap = await h.handle(
        SetBudgetCap(
            org_id="o1", period="month", max_usd=Decimal("20"), max_tokens=None, actor="op"
        )
    )
    assert cap == BudgetCap(
        org_id="o1", period="month", max_picousd=to_picodollars(Decimal("20")), max_tokens=None
    )
    assert h.store.limits.caps == {("o1", "month"): cap}
    clamped = h.store.limits.budgets[("org", "o1", "month")]
    assert clamped.max_picousd == to_picodollars(Decimal("20"))
    assert h.only(BudgetSet).max_usd == Decimal("20")
    assert h.only(BudgetCapSet).max_usd == Decimal("20")


async def test_lifting_a_budget_cap_removes_it(h: Bus) -> None:
    cap = SetBudgetCap(org_id="o1", period="day", max_usd=Decimal("1"), max_tokens=None, actor="op")
    await h.quietly(cap)
    lifted = await h.handle(
        SetBudgetCap(org_id="o1", period="day", max_usd=None, max_tokens=None, actor="op")
    )
    assert lifted is None
    assert h.store.limits.caps == {}
    event = h.only(BudgetCapSet)
    assert (event.max_usd, event.max_tokens) == (None, None)


async def test_set_rate_limit_stores_it_and_publishes_rate_limit_set(h: Bus) -> None:
    limit = await h.handle(
        SetRateLimit(scope="key", scope_id="k1", rpm=60, tpm=None, actor="admin")
    )
    assert limit == RateLimit(scope="key", scope_id="k1", rpm=60, tpm=None)
    assert h.store.limits.rate_limits == {("key", "k1"): limit}
    assert h.only(RateLimitSet).rpm == 60
    assert h.limits.current().rate_limits[("key", "k1")] == limit


async def test_set_price_stores_it_and_publishes_price_set(h: Bus) -> None:
    price = await h.handle(
        SetPrice(
            provider="openai",
            model="gpt-4o",
            input_per_mtok=Decimal("2.5"),
            output_per_mtok=Decimal("10"),
            cached_input_per_mtok=None,
            actor="admin",
        )
    )
    assert price == Price(
        input_per_mtok=Decimal("2.5"), output_per_mtok=Decimal("10"), cached_input_per_mtok=None
    )
    assert h.store.limits.prices == {("openai", "gpt-4o"): price}
    event = h.only(PriceSet)
    assert (event.model, event.output_per_mtok) == ("gpt-4o", Decimal("10"))
    assert h.limits.price_of("openai", "gpt-4o") == price
    [row] = h.store.audit_rows  # the audit context wrote its row in the same wave
    assert (row.actor, row.action) == ("admin", "price.set")


async def test_set_price_with_every_rate_and_tiers_stores_and_publishes_them(h: Bus) -> None:
    tier = PriceTierRates(
        above_input_tokens=200_000,
        input_per_mtok=Decimal(6),
        output_per_mtok=Decimal("22.5"),
        cached_input_per_mtok=Decimal("0.6"),
    )
    price = await h.handle(
        SetPrice(
            provider="anthropic",
            model="claude-sonnet-4-5",
            input_per_mtok=Decimal(3),
            output_per_mtok=Decimal(15),
            cached_input_per_mtok=Decimal("0.3"),
            cache_write_5m_per_mtok=Decimal("3.75"),
            cache_write_1h_per_mtok=Decimal(6),
            reasoning_output_per_mtok=None,
            tiers=(tier,),
            actor="admin",
        )
    )
    assert price.cache_write_1h_per_mtok == Decimal(6)
    assert price.tiers == (
        PriceTier(Decimal(6), Decimal("22.5"), Decimal("0.6"), above_input_tokens=200_000),
    )
    assert h.store.limits.prices == {("anthropic", "claude-sonnet-4-5"): price}
    event = h.only(PriceSet)
    assert (event.cache_write_5m_per_mtok, event.tiers) == (Decimal("3.75"), (tier,))
    [row] = h.store.audit_rows
    assert row.data["tiers"] == [
        {
            "above_input_tokens": 200_000,
            "input_per_mtok": "6",
            "output_per_mtok": "22.5",
            "cached_input_per_mtok": "0.6",
        }
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"cache_write_1h_per_mtok": Decimal("-1")},
            "`cache_write_1h_per_mtok` must not be negative.",
        ),
        (
            {
                "tiers": (
                    PriceTierRates(
                        above_input_tokens=10,
                        input_per_mtok=Decimal("0.5"),
                        output_per_mtok=Decimal(20),
                    ),
                )
            },
            "`tiers[0].input_per_mtok` must not be below the rate under this tier (0.5 < 1).",
        ),
        (
            {
                "tiers": (
                    PriceTierRates(
                        above_input_tokens=10,
                        input_per_mtok=Decimal(2),
                        output_per_mtok=Decimal("20.0000001"),
                    ),
                )
            },
            "`tiers[0].output_per_mtok` may have at most 6 decimal places.",
        ),
        (
            {
                "tiers": (
                    PriceTierRates(
                        above_input_tokens=10,
                        input_per_mtok=Decimal(2),
                        output_per_mtok=Decimal(20),
                    ),
                    PriceTierRates(
                        above_input_tokens=5, input_per_mtok=Decimal(3), output_per_mtok=Decimal(30)
                    ),
                )
            },
            "`tiers[1].above_input_tokens` must be above the tier before it (10).",
        ),
        (
            {
                "tiers": (
                    PriceTierRates(
                        above_input_tokens=-3,
                        input_per_mtok=Decimal(2),
                        output_per_mtok=Decimal(20),
                    ),
                )
            },
            "`tiers[0].above_input_tokens` must be between 0 and 9007199254740991.",
        ),
    ],
)
def test_a_price_s_bad_rates_and_tiers_are_refused_naming_them(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidValue) as refused:
        SetPrice(
            provider="p",
            model="m",
            input_per_mtok=Decimal(1),
            output_per_mtok=Decimal(10),
            cached_input_per_mtok=None,
            actor="admin",
            **fields,  # type: ignore[arg-type]
        )
    assert str(refused.value) == message
