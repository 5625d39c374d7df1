"""Budgets, rate limits, budget caps and admin-set prices as they are stored: a query, read
straight from the tables the billing context writes (no projection stands between)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from domains.billing.budget import Budget, Scope
from domains.billing.budget_cap import BudgetCap
from domains.billing.limits import RateLimit
from domains.billing.model import Price
from infrastructure.db.repositories.limits import SqlLimitsRepository


async def limits_of(
    engine: AsyncEngine, scope: Scope, scope_id: str
) -> tuple[list[Budget], RateLimit | None]:
    """The scope's budgets (day, month, total) and its rate limit, in one transaction."""
    async with engine.connect() as conn, conn.begin():
        limits = SqlLimitsRepository(conn)
        return await limits.budgets_of(scope, scope_id), await limits.rate_limit_of(scope, scope_id)


async def budget_caps_of(engine: AsyncEngine, org_id: str) -> list[BudgetCap]:
    """The caps the operator set on the org's budgets, per period."""
    async with engine.connect() as conn, conn.begin():
        return await SqlLimitsRepository(conn).budget_caps_of(org_id)


async def admin_prices(engine: AsyncEngine) -> dict[tuple[str, str], Price]:
    """The prices set through the admin API with their tiers, by (provider, model)."""
    async with engine.connect() as conn, conn.begin():
        return await SqlLimitsRepository(conn).prices()
