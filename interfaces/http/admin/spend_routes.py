"""What an org, team, person or key has spent per period, against its budgets, and what is
left. Spent is summed from the usage ledger; reserved is what requests in flight hold."""

from __future__ import annotations

from litestar import Controller, get

from domains.billing.budget import ZERO, Period, Scope, window
from domains.shared.clock import utcnow
from infrastructure.queries.limits import limits_of
from infrastructure.queries.spend import spent_in_windows
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.limits_answers import period_out
from interfaces.http.admin.limits_schemas import PeriodSpendOut, SpendOut
from interfaces.http.dependencies import Engine, Ledger, Visible

PERIODS: tuple[Period, ...] = ("day", "month", "total")


async def _spend(
    engine: Engine,
    ledger: Ledger,
    visible: Visible,
    scope: Scope,
    scope_id: str,
) -> SpendOut:
    await visible.scope_org(scope, scope_id)
    budgets, limit = await limits_of(engine, scope, scope_id)
    by_period = {budget.period: budget for budget in budgets}
    now = utcnow()
    spent_by_period = await spent_in_windows(engine, scope, scope_id, PERIODS, now)
    periods: list[PeriodSpendOut] = []
    for period, spent in spent_by_period.items():
        budget = by_period.get(period)
        reserved = ZERO
        if budget is not None and ledger is not None:
            _, reserved = await ledger.spent(budget, now=now)
        periods.append(period_out(period, window(period, now), budget, spent, reserved))
    return SpendOut(
        scope=scope,
        id=scope_id,
        rpm=None if limit is None else limit.rpm,
        tpm=None if limit is None else limit.tpm,
        periods=periods,
    )


class SpendController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: limits"]

    @get("/orgs/{org_id:str}/spend", summary="An org's spend, limits and what is left, per period")
    async def org_spend(
        self,
        engine: Engine,
        ledger: Ledger,
        visible: Visible,
        org_id: str,
    ) -> SpendOut:
        return await _spend(engine, ledger, visible, "org", org_id)

    @get("/teams/{team_id:str}/spend", summary="A team's spend, limits and what is left")
    async def team_spend(
        self,
        engine: Engine,
        ledger: Ledger,
        visible: Visible,
        team_id: str,
    ) -> SpendOut:
        return await _spend(engine, ledger, visible, "team", team_id)

    @get("/keys/{key_id:str}/spend", summary="A key's spend, limits and what is left")
    async def key_spend(
        self,
        engine: Engine,
        ledger: Ledger,
        visible: Visible,
        key_id: str,
    ) -> SpendOut:
        return await _spend(engine, ledger, visible, "key", key_id)

    @get("/users/{user_id:str}/spend", summary="A person's spend, over every key they hold")
    async def user_spend(
        self,
        engine: Engine,
        ledger: Ledger,
        visible: Visible,
        user_id: str,
    ) -> SpendOut:
        return await _spend(engine, ledger, visible, "user", user_id)
