"""Budgets, rate limits and admin-set prices over SQLAlchemy Core, and the limits snapshot loader.

Writes are upserts (INSERT … ON CONFLICT DO UPDATE, on PostgreSQL and SQLite alike); a budget or
rate limit without any limit is deleted instead. Money is exact: budgets are kept as Decimal
dollars and handed to the domain as whole picodollars.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, get_args

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domains.billing.budget import Budget, Period, Scope
from domains.billing.budget_cap import BudgetCap
from domains.billing.limits import LimitsSnapshot, RateLimit
from domains.billing.model import Price, PriceTier
from domains.shared.clock import utcnow
from domains.shared.money import from_picodollars, to_picodollars
from infrastructure.db.tables import (
    budgets,
    model_price_tiers,
    model_prices,
    org_budget_caps,
    rate_limits,
)
from infrastructure.db.upsert import insert_for

_PERIOD_ORDER: dict[str, int] = {period: i for i, period in enumerate(get_args(Period))}


class SqlLimitsRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def set_budget(self, budget: Budget) -> None:
        key = (
            (budgets.c.scope == budget.scope)
            & (budgets.c.scope_id == budget.scope_id)
            & (budgets.c.period == budget.period)
        )
        if budget.max_picousd is None and budget.max_tokens is None:
            await self._conn.execute(delete(budgets).where(key))
            return
        values = {
            "max_usd": None if budget.max_picousd is None else from_picodollars(budget.max_picousd),
            "max_tokens": budget.max_tokens,
            "updated_at": utcnow(),
        }
        statement = insert_for(self._conn.dialect, budgets).values(
            scope=budget.scope, scope_id=budget.scope_id, period=budget.period, **values
        )
        await self._conn.execute(
            statement.on_conflict_do_update(
                index_elements=["scope", "scope_id", "period"], set_=values
            )
        )

    async def budgets_of(self, scope: Scope, scope_id: str) -> list[Budget]:
        query = select(budgets).where(budgets.c.scope == scope, budgets.c.scope_id == scope_id)
        rows = (await self._conn.execute(query)).all()
        return sorted((_budget(row) for row in rows), key=lambda b: _PERIOD_ORDER[b.period])

    async def set_budget_cap(self, cap: BudgetCap) -> None:
        values = {
            "max_usd": None if cap.max_picousd is None else from_picodollars(cap.max_picousd),
            "max_tokens": cap.max_tokens,
            "updated_at": utcnow(),
        }
        statement = insert_for(self._conn.dialect, org_budget_caps).values(
            org_id=cap.org_id, period=cap.period, **values
        )
        await self._conn.execute(
            statement.on_conflict_do_update(index_elements=["org_id", "period"], set_=values)
        )

    async def remove_budget_cap(self, org_id: str, period: Period) -> None:
        await self._conn.execute(
            delete(org_budget_caps).where(
                org_budget_caps.c.org_id == org_id, org_budget_caps.c.period == period
            )
        )

    async def budget_cap_of(self, org_id: str, period: Period) -> BudgetCap | None:
        query = select(org_budget_caps).where(
            org_budget_caps.c.org_id == org_id, org_budget_caps.c.period == period
        )
        row = (await self._conn.execute(query)).first()
        return None if row is None else _budget_cap(row)

    async def budget_caps_of(self, org_id: str) -> list[BudgetCap]:
        query = select(org_budget_caps).where(org_budget_caps.c.org_id == org_id)
        rows = (await self._conn.execute(query)).all()
        return sorted((_budget_cap(row) for row in rows), key=lambda c: _PERIOD_ORDER[c.period])

    async def set_rate_limit(self, limit: RateLimit) -> None:
        key = (rate_limits.c.scope == limit.scope) & (rate_limits.c.scope_id == limit.scope_id)
        if limit.rpm is None and limit.tpm is None:
            await self._conn.execute(delete(rate_limits).where(key))
            return
        values = {"rpm": limit.rpm, "tpm": limit.tpm, "updated_at": utcnow()}
        statement = insert_for(self._conn.dialect, rate_limits).values(
            scope=limit.scope, scope_id=limit.scope_id, **values
        )
        await self._conn.execute(
            statement.on_conflict_do_update(index_elements=["scope", "scope_id"], set_=values)
        )

    async def rate_limit_of(self, scope: Scope, scope_id: str) -> RateLimit | None:
        query = select(rate_limits).where(
            rate_limits.c.scope == scope, rate_limits.c.scope_id == scope_id
        )
        row = (await self._conn.execute(query)).first()
        return None if row is None else _rate_limit(row)

    async def set_price(self, provider: str, model: str, price: Price) -> None:
        """The model's price and its tiers, replacing the ones it had."""
        values = {**_rates(price), "updated_at": utcnow()}
        statement = insert_for(self._conn.dialect, model_prices).values(
            provider=provider, model=model, **values
        )
        await self._conn.execute(
            statement.on_conflict_do_update(index_elements=["provider", "model"], set_=values)
        )
        await self._conn.execute(
            delete(model_price_tiers).where(
                model_price_tiers.c.provider == provider, model_price_tiers.c.model == model
            )
        )
        if price.tiers:
            await self._conn.execute(
                model_price_tiers.insert(),
                [
                    {
                        "provider": provider,
                        "model": model,
                        "above_input_tokens": tier.above_input_tokens,
                        **_rates(tier),
                    }
                    for tier in price.tiers
                ],
            )

    async def prices(self) -> dict[tuple[str, str], Price]:
        rows = (await self._conn.execute(select(model_prices))).all()
        tier_rows = (
            await self._conn.execute(
                select(model_price_tiers).order_by(model_price_tiers.c.above_input_tokens)
            )
        ).all()
        tiers: dict[tuple[str, str], list[PriceTier]] = {}
        for row in tier_rows:
            tiers.setdefault((row.provider, row.model), []).append(_tier(row))
        return {
            (row.provider, row.model): _price(row, tiers.get((row.provider, row.model), ()))
            for row in rows
        }


async def load_limits_snapshot(
    engine: AsyncEngine, config_prices: Mapping[tuple[str, str], Price]
) -> LimitsSnapshot:
    """Every budget and rate limit, and the prices: admin-set ones, except for the models the
    YAML configuration prices (its price wins). Read in one transaction, so never half an update.
    """
    async with engine.connect() as conn, conn.begin():
        budget_rows = (await conn.execute(select(budgets))).all()
        limit_rows = (await conn.execute(select(rate_limits))).all()
        admin_prices = await SqlLimitsRepository(conn).prices()
    return LimitsSnapshot.of(
        budgets=[_budget(row) for row in budget_rows],
        rate_limits=[_rate_limit(row) for row in limit_rows],
        prices={**admin_prices, **config_prices},
    )


def _budget(row: Any) -> Budget:
    return Budget(
        scope=row.scope,
        scope_id=row.scope_id,
        period=row.period,
        max_picousd=None if row.max_usd is None else to_picodollars(row.max_usd),
        max_tokens=row.max_tokens,
    )


def _budget_cap(row: Any) -> BudgetCap:
    return BudgetCap(
        org_id=row.org_id,
        period=row.period,
        max_picousd=None if row.max_usd is None else to_picodollars(row.max_usd),
        max_tokens=row.max_tokens,
    )


def _rate_limit(row: Any) -> RateLimit:
    return RateLimit(scope=row.scope, scope_id=row.scope_id, rpm=row.rpm, tpm=row.tpm)


_RATE_COLUMNS = (
    "input_per_mtok",
    "output_per_mtok",
    "cached_input_per_mtok",
    "cache_write_5m_per_mtok",
    "cache_write_1h_per_mtok",
    "reasoning_output_per_mtok",
)


def _rates(rates: Price | PriceTier) -> dict[str, Any]:
    return {name: getattr(rates, name) for name in _RATE_COLUMNS}


def _price(row: Any, tiers: Iterable[PriceTier]) -> Price:
    return Price(**{name: getattr(row, name) for name in _RATE_COLUMNS}, tiers=tuple(tiers))


def _tier(row: Any) -> PriceTier:
    return PriceTier(
        above_input_tokens=row.above_input_tokens,
        **{name: getattr(row, name) for name in _RATE_COLUMNS},
    )
