"""Budgets, budget caps and rate limits of orgs, teams, people and keys.

Every call first finds the org the addressed org, team, person or key belongs to: an id that
does not exist and one of another org are the same 404. Owners and admins of the org set its
budgets and rate limits; only the operator's admin key caps an org's budgets.
"""

from __future__ import annotations

from litestar import Controller, get, put
from msgspec import UNSET

from application.billing.commands import SetBudget, SetBudgetCap, SetRateLimit
from domains.billing.budget import Scope
from domains.billing.budget_cap import BudgetCap
from infrastructure.queries.limits import budget_caps_of
from interfaces.http.admin.exact_json import ExactJsonRequest
from interfaces.http.admin.guard import require_admin
from interfaces.http.admin.limits_answers import (
    apply_budget,
    budget_out,
    cap_out,
    limits_out,
)
from interfaces.http.admin.limits_schemas import (
    BudgetBody,
    BudgetCapOut,
    BudgetOut,
    KeyLimitsBody,
    LimitsOut,
    TeamLimitsBody,
)
from interfaces.http.dependencies import Bus, Engine, Visible


async def _set_budget(
    bus: Bus, visible: Visible, scope: Scope, scope_id: str, data: BudgetBody
) -> BudgetOut:
    principal = visible.principal
    org_id = await visible.scope_org(scope, scope_id)
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
    return budget_out(await apply_budget(bus, command))


async def _read_limits(engine: Engine, visible: Visible, scope: Scope, scope_id: str) -> LimitsOut:
    await visible.scope_org(scope, scope_id)
    return await limits_out(engine, scope, scope_id)


class BudgetsController(Controller):
    path = "/admin/v1"
    guards = [require_admin]
    tags = ["Admin: limits"]
    request_class = ExactJsonRequest

    @put("/orgs/{org_id:str}/budget", summary="Set or remove an org's budget for a period")
    async def set_org_budget(
        self, bus: Bus, visible: Visible, org_id: str, data: BudgetBody
    ) -> BudgetOut:
        return await _set_budget(bus, visible, "org", org_id, data)

    @get(
        "/orgs/{org_id:str}/budget-caps",
        summary="The caps the operator set on an org's budget, per period",
    )
    async def org_budget_caps(
        self, engine: Engine, visible: Visible, org_id: str
    ) -> list[BudgetCapOut]:
        await visible.scope_org("org", org_id)
        caps = await budget_caps_of(engine, org_id)
        return [cap_out(org_id, cap.period, cap) for cap in caps]

    @put(
        "/orgs/{org_id:str}/budget-cap",
        summary="Cap an org's budget for a period, or lift the cap (operator only)",
    )
    async def set_org_budget_cap(
        self, bus: Bus, visible: Visible, org_id: str, data: BudgetBody
    ) -> BudgetCapOut:
        principal = visible.principal
        await visible.scope_org("org", org_id)
        principal.require_root()
        cap: BudgetCap | None = await bus.handle(
            SetBudgetCap(
                org_id=org_id,
                period=data.period,
                max_usd=data.max_usd,
                max_tokens=data.max_tokens,
                actor=principal.actor,
            )
        )
        return cap_out(org_id, data.period, cap)

    @put("/teams/{team_id:str}/budget", summary="Set or remove a team's budget for a period")
    async def set_team_budget(
        self, bus: Bus, visible: Visible, team_id: str, data: BudgetBody
    ) -> BudgetOut:
        return await _set_budget(bus, visible, "team", team_id, data)

    @put("/keys/{key_id:str}/budget", summary="Set or remove a key's budget for a period")
    async def set_key_budget(
        self, bus: Bus, visible: Visible, key_id: str, data: BudgetBody
    ) -> BudgetOut:
        return await _set_budget(bus, visible, "key", key_id, data)

    @put("/users/{user_id:str}/budget", summary="Set or remove a person's budget for a period")
    async def set_user_budget(
        self, bus: Bus, visible: Visible, user_id: str, data: BudgetBody
    ) -> BudgetOut:
        return await _set_budget(bus, visible, "user", user_id, data)

    @put("/keys/{key_id:str}/limits", summary="Set a key's rate limits and budget")
    async def set_key_limits(
        self,
        bus: Bus,
        engine: Engine,
        visible: Visible,
        key_id: str,
        data: KeyLimitsBody,
    ) -> LimitsOut:
        principal = visible.principal
        org_id = await visible.scope_org("key", key_id)
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
                await apply_budget(bus, command)
            else:
                await bus.handle(command)
        return await limits_out(engine, "key", key_id)

    @get("/keys/{key_id:str}/limits", summary="A key's rate limits and budgets, as set")
    async def key_limits(self, engine: Engine, visible: Visible, key_id: str) -> LimitsOut:
        return await _read_limits(engine, visible, "key", key_id)

    @get("/teams/{team_id:str}/limits", summary="A team's rate limits and budgets, as set")
    async def team_limits(self, engine: Engine, visible: Visible, team_id: str) -> LimitsOut:
        return await _read_limits(engine, visible, "team", team_id)

    @put("/teams/{team_id:str}/limits", summary="Set a team's rate limits")
    async def set_team_limits(
        self,
        bus: Bus,
        engine: Engine,
        visible: Visible,
        team_id: str,
        data: TeamLimitsBody,
    ) -> LimitsOut:
        principal = visible.principal
        principal.require_manage(await visible.scope_org("team", team_id), "team")
        if data.rpm is not UNSET or data.tpm is not UNSET:
            await bus.handle(
                SetRateLimit(
                    scope="team",
                    scope_id=team_id,
                    rpm=None if data.rpm is UNSET else data.rpm,
                    tpm=None if data.tpm is UNSET else data.tpm,
                    actor=principal.actor,
                )
            )
        return await limits_out(engine, "team", team_id)
