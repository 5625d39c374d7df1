"""Budgets, rate limits and prices stored and read back exactly, the limits snapshot, and spend
per scope and window summed exactly, on PostgreSQL and on SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from application.billing.commands import SetBudget, SetPrice, SetRateLimit
from domains.billing.budget import Amount, Budget
from domains.billing.events import UsageRecorded
from domains.billing.limits import RateLimit
from domains.billing.model import Price
from domains.shared.errors import InvalidValue
from domains.shared.ids import new_id
from domains.shared.money import from_picodollars, to_picodollars
from infrastructure.db.engine import create_engine
from infrastructure.db.repositories.billing import SqlUsageLedger
from infrastructure.db.repositories.limits import SqlLimitsRepository, load_limits_snapshot
from infrastructure.db.tables import budgets, model_prices
from infrastructure.queries.audit import audit_page
from infrastructure.queries.spend import (
    spent_in_window,
    spent_in_windows,
    window_bounds,
)
from tests.integration.conftest import container_for

NOW = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)
BIG_USD = Decimal("12345678.123456789012")
TINY = Decimal("0.000000000001")  # one picodollar


@pytest.fixture(params=[pytest.param("pg", marks=pytest.mark.postgres), "sqlite"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(
        request.getfixturevalue("migrated_pg" if request.param == "pg" else "migrated_sqlite")
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


def team_budget(team: str, period: str, usd: Decimal | None, tokens: int | None) -> Budget:
    pico = None if usd is None else to_picodollars(usd)
    return Budget("team", team, period, pico, tokens)  # type: ignore[arg-type]


async def test_budgets_round_trip_exactly_upsert_and_remove(engine: AsyncEngine) -> None:
    team = new_id()
    async with engine.begin() as conn:
        repo = SqlLimitsRepository(conn)
        await repo.set_budget(team_budget(team, "total", TINY, None))
        await repo.set_budget(team_budget(team, "day", BIG_USD, 10**15))
        await repo.set_budget(team_budget(team, "month", Decimal("0.1"), None))
    async with engine.begin() as conn:
        found = await SqlLimitsRepository(conn).budgets_of("team", team)
        query = sa.select(budgets.c.period, budgets.c.max_usd).where(budgets.c.scope_id == team)
        stored = dict((await conn.execute(query)).all())
    assert [b.period for b in found] == ["day", "month", "total"]
    assert found[0] == team_budget(team, "day", BIG_USD, 10**15)
    assert found[0].max_picousd == 12345678123456789012  # past 2**63: no BIGINT would hold it
    assert from_picodollars(found[1].max_picousd or 0) == Decimal("0.1")
    assert found[2].max_picousd == 1
    assert str(stored["day"]) == "12345678.123456789012"
    assert str(stored["month"]) == "0.1"
    assert isinstance(stored["total"], Decimal)
    assert stored["total"] == TINY

    async with engine.begin() as conn:  # the same period again replaces; no limits removes
        repo = SqlLimitsRepository(conn)
        await repo.set_budget(team_budget(team, "day", None, 500))
        await repo.set_budget(team_budget(team, "month", None, None))
        await repo.set_budget(team_budget(team, "month", None, None))  # removing twice is fine
    async with engine.connect() as conn:
        found = await SqlLimitsRepository(conn).budgets_of("team", team)
        assert await SqlLimitsRepository(conn).budgets_of("team", new_id()) == []
    assert found == [team_budget(team, "day", None, 500), team_budget(team, "total", TINY, None)]


async def test_rate_limits_round_trip_upsert_and_remove(engine: AsyncEngine) -> None:
    key = new_id()
    async with engine.begin() as conn:
        repo = SqlLimitsRepository(conn)
        await repo.set_rate_limit(RateLimit("key", key, rpm=60, tpm=None))
        await repo.set_rate_limit(RateLimit("key", key, rpm=None, tpm=2**62))
    async with engine.begin() as conn:
        repo = SqlLimitsRepository(conn)
        assert await repo.rate_limit_of("key", key) == RateLimit("key", key, None, 2**62)
        assert await repo.rate_limit_of("team", key) is None
        await repo.set_rate_limit(RateLimit("key", key, rpm=None, tpm=None))
        assert await repo.rate_limit_of("key", key) is None


async def test_prices_round_trip_exactly(engine: AsyncEngine) -> None:
    provider = f"p-{new_id()}"
    async with engine.begin() as conn:
        repo = SqlLimitsRepository(conn)
        await repo.set_price(provider, "a", Price(Decimal("0.15"), Decimal("0.600000")))
        await repo.set_price(provider, "b", Price(Decimal("3"), Decimal("15"), Decimal("0.3")))
        await repo.set_price(provider, "a", Price(Decimal("0.000001"), Decimal("123456789.5")))
    async with engine.connect() as conn:
        prices = {
            k: v for k, v in (await SqlLimitsRepository(conn).prices()).items() if k[0] == provider
        }
        raw = (
            await conn.execute(
                sa.select(model_prices.c.output_per_mtok).where(
                    model_prices.c.provider == provider, model_prices.c.model == "a"
                )
            )
        ).scalar_one()
    assert prices == {
        (provider, "a"): Price(Decimal("0.000001"), Decimal("123456789.5")),
        (provider, "b"): Price(Decimal("3"), Decimal("15"), Decimal("0.3")),
    }
    assert str(prices[(provider, "a")].input_per_mtok) == "0.000001"
    assert str(raw) == "123456789.5"


async def test_an_exact_column_refuses_what_it_cannot_hold_exactly(engine: AsyncEngine) -> None:
    for bad in (Decimal("0.0000000000001"), Decimal("NaN"), Decimal("Infinity"), Decimal("1E+30")):
        with pytest.raises(sa.exc.StatementError):
            async with engine.begin() as conn:
                await SqlLimitsRepository(conn).set_price("p", "m", Price(bad, Decimal(1)))


async def test_the_snapshot_holds_everything_and_the_yaml_prices_win(engine: AsyncEngine) -> None:
    team, key = new_id(), new_id()
    provider = f"p-{new_id()}"
    async with engine.begin() as conn:
        repo = SqlLimitsRepository(conn)
        await repo.set_budget(team_budget(team, "day", Decimal("1.5"), None))
        await repo.set_budget(team_budget(team, "total", None, 1000))
        await repo.set_rate_limit(RateLimit("key", key, rpm=10, tpm=None))
        await repo.set_rate_limit(RateLimit("team", team, rpm=None, tpm=5000))
        await repo.set_price(provider, "yaml-priced", Price(Decimal(9), Decimal(9)))
        await repo.set_price(provider, "admin-priced", Price(Decimal("0.25"), Decimal("0.5")))
    yaml = {(provider, "yaml-priced"): Price(Decimal("0.15"), Decimal("0.6"))}
    snapshot = await load_limits_snapshot(engine, yaml)
    assert set(snapshot.budgets_for(org_id="o", team_id=team, user_id=None, key_id=key)) == {
        team_budget(team, "day", Decimal("1.5"), None),
        team_budget(team, "total", None, 1000),
    }
    assert snapshot.rate_limits_for(team_id=team, key_id=key) == [
        RateLimit("key", key, 10, None),
        RateLimit("team", team, None, 5000),
    ]
    assert snapshot.price_of(provider, "yaml-priced") == Price(Decimal("0.15"), Decimal("0.6"))
    assert snapshot.price_of(provider, "admin-priced") == Price(Decimal("0.25"), Decimal("0.5"))
    assert snapshot.price_of(provider, "unpriced") is None


def _usage(at: datetime, cost_picousd: int, tokens: tuple[int, int], **scope: str) -> UsageRecorded:
    fields = {"org_id": "o", "team_id": "t", "key_id": "k", "user_id": None, **scope}
    return UsageRecorded(
        usage_id=new_id(),
        source_event_id=new_id(),
        request_id=new_id(),
        provider="openai",
        model="gpt-4o-mini",
        endpoint="chat",
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cached_tokens=0,
        cost_usd=from_picodollars(cost_picousd),
        priced=True,
        occurred_at=at,
        **fields,  # type: ignore[arg-type]
    )


async def test_spend_is_summed_exactly_per_scope_and_utc_window(engine: AsyncEngine) -> None:
    org, team, key, user = (new_id() for _ in range(4))
    mine = {"org_id": org, "team_id": team, "key_id": key, "user_id": user}
    huge = 2**62 + 12345  # four of these pass 2**63 picodollars (a 64-bit SUM overflows)
    midnight = NOW.replace(hour=0, minute=0)
    rows = [
        _usage(midnight, huge, (1, 2), **mine),  # the day's first instant: today
        _usage(NOW, huge, (10, 20), **mine),
        _usage(NOW - timedelta(hours=1), 7, (100, 200), **mine),
        _usage(midnight - timedelta(microseconds=1), huge, (1000, 2000), **mine),  # yesterday
        _usage(midnight.replace(day=1) - timedelta(seconds=1), huge, (5, 5), **mine),  # October
        _usage(midnight + timedelta(days=1), 3, (1, 1), **mine),  # tomorrow
        _usage(NOW, 10**15, (9, 9), org_id=org, team_id=new_id(), key_id=new_id()),  # org only
    ]
    async with engine.begin() as conn:
        assert len(await SqlUsageLedger(conn).add_all(rows)) == len(rows)

    async def spent(scope: str, scope_id: str, period: str) -> Amount:
        return await spent_in_window(engine, scope, scope_id, period, NOW)  # type: ignore[arg-type]

    today = Amount(2 * huge + 7, 3 + 30 + 300)
    this_month = today + Amount(huge + 3, 3000 + 2)  # yesterday and tomorrow are this month
    everything = this_month + Amount(huge, 10)
    for scope, scope_id in (("team", team), ("key", key), ("user", user)):
        assert await spent(scope, scope_id, "day") == today
        assert await spent(scope, scope_id, "month") == this_month
        assert await spent(scope, scope_id, "total") == everything
    assert everything.picousd > 2**63
    periods = ("day", "month", "total")
    assert await spent_in_windows(engine, "key", key, periods, NOW) == {
        "day": today,
        "month": this_month,
        "total": everything,
    }
    assert await spent_in_windows(engine, "key", key, ("month", "day"), NOW) == {
        "month": this_month,
        "day": today,
    }
    assert await spent("org", org, "day") == today + Amount(10**15, 18)
    assert await spent("org", org, "total") == everything + Amount(10**15, 18)
    assert await spent("team", new_id(), "total") == Amount(0, 0)


def test_window_bounds_are_utc_calendar_windows() -> None:
    day = window_bounds("day", datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert day == (datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    new_york_eve = datetime(2026, 12, 31, 22, 0, tzinfo=timezone(timedelta(hours=-5)))
    month = window_bounds("month", new_york_eve)  # 03:00 on 1 January in UTC
    assert month == (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))
    december = window_bounds("month", datetime(2026, 12, 5, tzinfo=UTC))
    assert december == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert window_bounds("total", NOW) is None
    with pytest.raises(ValueError, match="timezone"):
        window_bounds("day", datetime(2026, 1, 1))


async def test_commands_are_stored_published_and_audited_with_their_actor(
    database_url: str,
) -> None:
    container = container_for(database_url, FLUXROUTER_WORKERS_EMBEDDED="false")
    team = new_id()
    try:
        budget = await container.bus.handle(
            SetBudget(
                scope="team",
                scope_id=team,
                org_id="org-1",
                period="month",
                max_usd=Decimal("0.1"),
                max_tokens=None,
                actor="user:alice",
            )
        )
        assert budget == team_budget(team, "month", Decimal("0.1"), None)
        await container.bus.handle(
            SetRateLimit(scope="team", scope_id=team, rpm=5, tpm=None, actor="user:alice")
        )
        await container.bus.handle(
            SetBudget(
                scope="team",
                scope_id=team,
                org_id="org-1",
                period="month",
                max_usd=None,
                max_tokens=None,
                actor="admin",
            )
        )
        await container.bus.handle(
            SetPrice(
                provider="local",
                model=f"m-{team}",
                input_per_mtok=Decimal("0.000001"),
                output_per_mtok=Decimal(2),
                cached_input_per_mtok=None,
                actor="admin",
            )
        )
        async with container.engine.connect() as conn:
            assert await SqlLimitsRepository(conn).budgets_of("team", team) == []
            assert await SqlLimitsRepository(conn).rate_limit_of("team", team) == RateLimit(
                "team", team, 5, None
            )
        rows = [
            row
            for row in await audit_page(container.engine, after_seq=0, limit=1000)
            if row.target in (f"team:{team}", f"model:local/m-{team}")
        ]
        assert [(row.actor, row.action) for row in rows] == [
            ("user:alice", "budget.set"),
            ("user:alice", "rate_limit.set"),
            ("admin", "budget.remove"),
            ("admin", "price.set"),
        ]
        assert rows[0].data == {"period": "month", "max_usd": "0.1", "max_tokens": None}
        assert rows[3].data["input_per_mtok"] == "0.000001"
    finally:
        await container.engine.dispose()
        container.sync_engine.dispose()


@pytest.mark.parametrize(
    "bad",
    [
        {"max_usd": Decimal(-1)},
        {"max_usd": Decimal("NaN")},
        {"max_usd": Decimal("Infinity")},
        {"max_usd": Decimal("0.0000000000001")},  # finer than a picodollar
        {"max_usd": Decimal(10) ** 15},
        {"max_tokens": -1},
        {"max_tokens": 2**53},  # past what every JSON reader (and the audit chain) keeps exact
    ],
)
def test_a_budget_command_refuses_values_that_are_not_exact_money(bad: dict[str, object]) -> None:
    fields: dict[str, object] = {"max_usd": None, "max_tokens": None, **bad}
    with pytest.raises(InvalidValue):
        SetBudget(scope="team", scope_id="t", org_id="o", period="day", actor="admin", **fields)  # type: ignore[arg-type]


def test_a_price_command_allows_six_places_like_the_yaml_file() -> None:
    SetPrice(
        provider="p",
        model="m",
        input_per_mtok=Decimal("0.000001"),
        output_per_mtok=Decimal("1.500000000"),
        cached_input_per_mtok=None,
        actor="admin",
    )
    with pytest.raises(InvalidValue, match="6 decimal places"):
        SetPrice(
            provider="p",
            model="m",
            input_per_mtok=Decimal("0.0000001"),
            output_per_mtok=Decimal(1),
            cached_input_per_mtok=None,
            actor="admin",
        )
