"""What the billing context needs from the outside world."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from domains.billing.budget import Budget, Period, Scope
from domains.billing.budget_cap import BudgetCap
from domains.billing.events import UsageRecorded
from domains.billing.limits import RateLimit
from domains.billing.model import Price
from domains.billing.request_log import RequestBodies, RequestRecord


class UsageLedger(Protocol):
    async def add_all(self, usages: Sequence[UsageRecorded]) -> set[str]:
        """Writes each usage unless its source event is already recorded (a replay, or a
        concurrent delivery); the source event ids actually written."""
        ...


class RequestLog(Protocol):
    async def add_all(self, records: Sequence[RequestRecord]) -> None:
        """Writes the records (of calls whose usage was just written: each once)."""
        ...

    async def add_bodies(self, bodies: Sequence[RequestBodies]) -> None:
        """Writes the scrubbed bodies of records written in the same transaction."""
        ...


class LimitsRepository(Protocol):
    """Budgets, rate limits and admin-set prices, as the admin API sets them."""

    async def set_budget(self, budget: Budget) -> None:
        """Stores the scope's budget for its period; a budget without limits removes it."""
        ...

    async def budgets_of(self, scope: Scope, scope_id: str) -> list[Budget]:
        """The scope's budgets, at most one per period, by period (day, month, total)."""
        ...

    async def set_budget_cap(self, cap: BudgetCap) -> None:
        """Stores the operator's cap on the org for its period."""
        ...

    async def remove_budget_cap(self, org_id: str, period: Period) -> None: ...

    async def budget_cap_of(self, org_id: str, period: Period) -> BudgetCap | None: ...

    async def budget_caps_of(self, org_id: str) -> list[BudgetCap]:
        """The org's caps, at most one per period, by period (day, month, total)."""
        ...

    async def set_rate_limit(self, limit: RateLimit) -> None:
        """Stores the scope's rate limits; one without limits removes them."""
        ...

    async def rate_limit_of(self, scope: Scope, scope_id: str) -> RateLimit | None: ...

    async def set_price(self, provider: str, model: str, price: Price) -> None: ...

    async def prices(self) -> dict[tuple[str, str], Price]:
        """Every admin-set price by (provider, model)."""
        ...
