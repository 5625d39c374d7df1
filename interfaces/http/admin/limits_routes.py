"""Budgets, rate limits and spend of orgs, teams, people and keys; model prices.

Every call first finds the org the addressed org, team, person or key belongs to: an id that
does not exist and one of another org are the same 404. Prices are global: anyone on the admin
API reads them, only the operator's admin key sets them, never for a model the YAML prices.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

import msgspec
from litestar import Controller, Request, get, put
from litestar.exceptions import SerializationException
from msgspec import UNSET

from application.billing.commands import SetBudget, SetBudgetCap, SetPrice, SetRateLimit
from domains.billing.budget import ZERO, Amount, Budget, BudgetLedger, Period, Scope, window
from domains.billing.budget_cap import BudgetCap, CapRefusal
from domains.billing.limits import RateLimit
from domains.billing.model import Price
from domains.shared.clock import utcnow
from domains.shared.errors import Conflict, NotFound
from domains.shared.money import from_picodollars, usd_text
from infrastructure.db.repositories.limits import SqlLimitsRepository
from infrastructure.read_models import directory_query as directory
from infrastructure.read_models.spend_query import spent_in_windows
from interfaces.billing_wiring import config_prices
from interfaces.bootstrap import Container
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.limits_schemas import (
    BudgetBody,
    BudgetCapOut,
    BudgetOut,
    KeyLimitsBody,
    LimitsOut,
    PeriodSpendOut,
    PriceBody,
    PriceOut,
    PriceSource,
    SpendOut,
    TeamLimitsBody,
)
from interfaces.http.admin.principal import principal_of
from interfaces.http.container import container_of
from interfaces.http.errors import ApiError

PERIODS: tuple[Period, ...] = ("day", "month", "total")
_exact_json = msgspec.json.Decoder(float_hook=Decimal)


class ExactJsonRequest(Request[Any, Any, Any]):
    """Reads a JSON number with a fraction or an exponent as a Decimal, from its text: money
    sent as 0.1 is Decimal("0.1"), never the float nearest to it."""

    async def json(self) -> Any:
        try:
            return _exact_json.decode(await self.body() or b"null")
        except msgspec.DecodeError as error:
            raise SerializationException(str(error)) from error


async def org_of(container: Container, scope: Scope, scope_id: str) -> str:
    """The id of the org the org, team, user or key belongs to; 404 if there is none."""
    engine = container.engine
    found: str | None = None
    if scope == "org":
        found = scope_id if await directory.org_exists(engine, scope_id) else None
    else:
        lookup = {"team": directory.team_by_id, "key": directory.key_by_id}.get(scope)
        view = await (lookup or directory.user_by_id)(engine, scope_id)
        found = None if view is None else view.org_id
    if found is None:
        raise ApiError(404, f"There is no such {scope}.", code="not_found")
    return found


async def apply_budget(container: Container, command: SetBudget) -> Budget:
    """Sets the budget; the RFC 9457 403 `budget_cap_exceeded` (the refusal audited) when the
    org's operator-set cap does not allow it."""
    result: Budget | CapRefusal = await container.bus.handle(command)
    if isinstance(result, CapRefusal):
        raise result.error()
    return result


async def _limits_of(
    container: Container, scope: Scope, scope_id: str
) -> tuple[list[Budget], RateLimit | None]:
    async with container.engine.connect() as conn, conn.begin():
        limits = SqlLimitsRepository(conn)
        return await limits.budgets_of(scope, scope_id), await limits.rate_limit_of(scope, scope_id)


def _usd(picousd: int | None) -> str | None:
    return None if picousd is None else usd_text(from_picodollars(picousd))


def _budget_out(budget: Budget) -> BudgetOut:
    return BudgetOut(
        scope=budget.scope,
        id=budget.scope_id,
        period=budget.period,
        max_usd=_usd(budget.max_picousd),
        max_tokens=budget.max_tokens,
    )


def _cap_out(org_id: str, period: Period, cap: BudgetCap | None) -> BudgetCapOut:
    return BudgetCapOut(
        org_id=org_id,
        period=period,
        max_usd=None if cap is None else _usd(cap.max_picousd),
        max_tokens=None if cap is None else cap.max_tokens,
    )


async def _limits_out(container: Container, scope: Scope, scope_id: str) -> LimitsOut:
    budgets, limit = await _limits_of(container, scope, scope_id)
    return LimitsOut(
        scope=scope,
        id=scope_id,
        rpm=None if limit is None else limit.rpm,
        tpm=None if limit is None else limit.tpm,
        budgets=[_budget_out(budget) for budget in budgets],
    )


async def _read_limits(request: Request[Any, Any, Any], scope: Scope, scope_id: str) -> LimitsOut:
    container = container_of(request)
    principal_of(request).require_read(await org_of(container, scope, scope_id), scope)
    return await _limits_out(container, scope, scope_id)


async def _set_budget(
    request: Request[Any, Any, Any], scope: Scope, scope_id: str, data: BudgetBody
) -> BudgetOut:
    container, principal = container_of(request), principal_of(request)
    org_id = await org_of(container, scope, scope_id)
    principal.require_manage(org_id, scope)
    command = SetBudget(
        scope=scope,
        scope_id=scope_id,
        org_id=org_id,
        period=data.period,
        max_usd=data.max_usd,
        max_tokens=data.max_tokens,
        actor=principal.actor,
    )
    return _budget_out(await apply_budget(container, command))


async def _spend(request: Request[Any, Any, Any], scope: Scope, scope_id: str) -> SpendOut:
    container = container_of(request)
    principal_of(request).require_read(await org_of(container, scope, scope_id), scope)
    budgets, limit = await _limits_of(container, scope, scope_id)
    by_period = {budget.period: budget for budget in budgets}
    # the budget ledger holds what requests in flight have reserved (absent: none are)
    ledger = cast(BudgetLedger | None, getattr(container, "ledger", None))
    now = utcnow()
    spent_by_period = await spent_in_windows(container.engine, scope, scope_id, PERIODS, now)
    periods: list[PeriodSpendOut] = []
    for period, spent in spent_by_period.items():
        budget = by_period.get(period)
        reserved = ZERO
        if budget is not None and ledger is not None:
            _, reserved = await ledger.spent(budget, now=now)
        periods.append(_period_out(period, window(period, now), budget, spent, reserved))
    return SpendOut(
        scope=scope,
        id=scope_id,
        rpm=None if limit is None else limit.rpm,
        tpm=None if limit is None else limit.tpm,
        periods=periods,
    )


def _period_out(
    period: Period, window_id: str, budget: Budget | None, spent: Amount, reserved: Amount
) -> PeriodSpendOut:
    max_usd = None if budget is None else budget.max_picousd
    max_tokens = None if budget is None else budget.max_tokens
    used = spent + reserved
    return PeriodSpendOut(
        period=period,
        window=window_id,
        max_usd=_usd(max_usd),
        max_tokens=max_tokens,
        spent_usd=usd_text(from_picodollars(spent.picousd)),
        spent_tokens=spent.tokens,
        reserved_usd=usd_text(from_picodollars(reserved.picousd)),
        reserved_tokens=reserved.tokens,
        remaining_usd=None if max_usd is None else _usd(max(max_usd - used.picousd, 0)),
        remaining_tokens=None if max_tokens is None else max(max_tokens - used.tokens, 0),
    )


def _price_out(
    provider: str, model: str, price: Price | None, source: PriceSource | None
) -> PriceOut:
    def text(value: Decimal | None) -> str | None:
        return None if value is None else usd_text(value)

    return PriceOut(
        provider=provider,
        model=model,
        input_per_mtok=text(None if price is None else price.input_per_mtok),
        output_per_mtok=text(None if price is None else price.output_per_mtok),
        cached_input_per_mtok=text(None if price is None else price.cached_input_per_mtok),
        source=source,
    )


class LimitsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: limits"]
    request_class = ExactJsonRequest

    @put("/orgs/{org_id:str}/budget", summary="Set or remove an org's budget for a period")
    async def set_org_budget(
        self, request: Request[Any, Any, Any], org_id: str, data: BudgetBody
    ) -> BudgetOut:
        return await _set_budget(request, "org", org_id, data)

    @get(
        "/orgs/{org_id:str}/budget-caps",
        summary="The caps the operator set on an org's budget, per period",
    )
    async def org_budget_caps(
        self, request: Request[Any, Any, Any], org_id: str
    ) -> list[BudgetCapOut]:
        container = container_of(request)
        principal_of(request).require_read(await org_of(container, "org", org_id), "org")
        async with container.engine.connect() as conn, conn.begin():
            caps = await SqlLimitsRepository(conn).budget_caps_of(org_id)
        return [_cap_out(org_id, cap.period, cap) for cap in caps]

    @put(
        "/orgs/{org_id:str}/budget-cap",
        summary="Cap an org's budget for a period, or lift the cap (operator only)",
    )
    async def set_org_budget_cap(
        self, request: Request[Any, Any, Any], org_id: str, data: BudgetBody
    ) -> BudgetCapOut:
        container, principal = container_of(request), principal_of(request)
        principal.require_read(await org_of(container, "org", org_id), "org")
        principal.require_root()
        cap: BudgetCap | None = await container.bus.handle(
            SetBudgetCap(
                org_id=org_id,
                period=data.period,
                max_usd=data.max_usd,
                max_tokens=data.max_tokens,
                actor=principal.actor,
            )
        )
        return _cap_out(org_id, data.period, cap)

    @put("/teams/{team_id:str}/budget", summary="Set or remove a team's budget for a period")
    async def set_team_budget(
        self, request: Request[Any, Any, Any], team_id: str, data: BudgetBody
    ) -> BudgetOut:
        return await _set_budget(request, "team", team_id, data)

    @put("/keys/{key_id:str}/budget", summary="Set or remove a key's budget for a period")
    async def set_key_budget(
        self, request: Request[Any, Any, Any], key_id: str, data: BudgetBody
    ) -> BudgetOut:
        return await _set_budget(request, "key", key_id, data)

    @put("/users/{user_id:str}/budget", summary="Set or remove a person's budget for a period")
    async def set_user_budget(
        self, request: Request[Any, Any, Any], user_id: str, data: BudgetBody
    ) -> BudgetOut:
        return await _set_budget(request, "user", user_id, data)

    @put("/keys/{key_id:str}/limits", summary="Set a key's rate limits and budget")
    async def set_key_limits(
        self, request: Request[Any, Any, Any], key_id: str, data: KeyLimitsBody
    ) -> LimitsOut:
        container, principal = container_of(request), principal_of(request)
        org_id = await org_of(container, "key", key_id)
        principal.require_manage(org_id, "key")
        commands: list[SetRateLimit | SetBudget] = []  # all built (and checked) before any runs
        if data.rpm is not UNSET or data.tpm is not UNSET:
            commands.append(
                SetRateLimit(
                    scope="key",
                    scope_id=key_id,
                    rpm=None if data.rpm is UNSET else data.rpm,
                    tpm=None if data.tpm is UNSET else data.tpm,
                    actor=principal.actor,
                )
            )
        if data.max_usd is not UNSET or data.max_tokens is not UNSET:
            commands.append(
                SetBudget(
                    scope="key",
                    scope_id=key_id,
                    org_id=org_id,
                    period=data.period,
                    max_usd=None if data.max_usd is UNSET else data.max_usd,
                    max_tokens=None if data.max_tokens is UNSET else data.max_tokens,
                    actor=principal.actor,
                )
            )
        # the budget first: one the org's cap refuses leaves the rate limits as they were too
        commands.sort(key=lambda command: not isinstance(command, SetBudget))
        for command in commands:
            if isinstance(command, SetBudget):
                await apply_budget(container, command)
            else:
                await container.bus.handle(command)
        return await _limits_out(container, "key", key_id)

    @get("/keys/{key_id:str}/limits", summary="A key's rate limits and budgets, as set")
    async def key_limits(self, request: Request[Any, Any, Any], key_id: str) -> LimitsOut:
        return await _read_limits(request, "key", key_id)

    @get("/teams/{team_id:str}/limits", summary="A team's rate limits and budgets, as set")
    async def team_limits(self, request: Request[Any, Any, Any], team_id: str) -> LimitsOut:
        return await _read_limits(request, "team", team_id)

    @put("/teams/{team_id:str}/limits", summary="Set a team's rate limits")
    async def set_team_limits(
        self, request: Request[Any, Any, Any], team_id: str, data: TeamLimitsBody
    ) -> LimitsOut:
        container, principal = container_of(request), principal_of(request)
        principal.require_manage(await org_of(container, "team", team_id), "team")
        if data.rpm is not UNSET or data.tpm is not UNSET:
            await container.bus.handle(
                SetRateLimit(
                    scope="team",
                    scope_id=team_id,
                    rpm=None if data.rpm is UNSET else data.rpm,
                    tpm=None if data.tpm is UNSET else data.tpm,
                    actor=principal.actor,
                )
            )
        return await _limits_out(container, "team", team_id)

    @get("/orgs/{org_id:str}/spend", summary="An org's spend, limits and what is left, per period")
    async def org_spend(self, request: Request[Any, Any, Any], org_id: str) -> SpendOut:
        return await _spend(request, "org", org_id)

    @get("/teams/{team_id:str}/spend", summary="A team's spend, limits and what is left")
    async def team_spend(self, request: Request[Any, Any, Any], team_id: str) -> SpendOut:
        return await _spend(request, "team", team_id)

    @get("/keys/{key_id:str}/spend", summary="A key's spend, limits and what is left")
    async def key_spend(self, request: Request[Any, Any, Any], key_id: str) -> SpendOut:
        return await _spend(request, "key", key_id)

    @get("/users/{user_id:str}/spend", summary="A person's spend, over every key they hold")
    async def user_spend(self, request: Request[Any, Any, Any], user_id: str) -> SpendOut:
        return await _spend(request, "user", user_id)

    @get("/prices", summary="Every model in the catalog with its price and where it comes from")
    async def list_prices(self, request: Request[Any, Any, Any]) -> list[PriceOut]:
        container = container_of(request)
        configured = config_prices(container.settings)
        async with container.engine.connect() as conn:
            admin_set = await SqlLimitsRepository(conn).prices()
        out: list[PriceOut] = []
        for route in container.catalog.routes():
            name = (route.provider, route.name)
            if name in configured:
                out.append(_price_out(*name, configured[name], "config"))
            elif name in admin_set:
                out.append(_price_out(*name, admin_set[name], "admin"))
            else:
                out.append(_price_out(*name, None, None))
        return out

    @put(
        "/prices/{provider:str}/{model:path}",
        summary="Price a model the YAML configuration leaves unpriced (operator only)",
    )
    async def set_price(
        self, request: Request[Any, Any, Any], provider: str, model: str, data: PriceBody
    ) -> PriceOut:
        principal = principal_of(request)
        principal.require_root()
        container = container_of(request)
        model = model.removeprefix("/")
        known = any(
            route.provider == provider and route.name == model
            for route in container.catalog.routes()
        )
        shown = f"{provider[:100]}/{model[:200]}"
        if not known:
            raise NotFound(f"The catalog has no model {shown}.")
        if (provider, model) in config_prices(container.settings):
            raise Conflict(
                f"The configuration file prices {shown}, and its price wins: change it there."
            )
        price: Price = await container.bus.handle(
            SetPrice(
                provider=provider,
                model=model,
                input_per_mtok=data.input_per_mtok,
                output_per_mtok=data.output_per_mtok,
                cached_input_per_mtok=data.cached_input_per_mtok,
                actor=principal.actor,
            )
        )
        return _price_out(provider, model, price, "admin")
