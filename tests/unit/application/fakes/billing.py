"""The billing context's repositories over the in-memory store (`BillingUnitOfWork`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from domains.billing.budget import Budget, Period, Scope
from domains.billing.budget_cap import BudgetCap
from domains.billing.events import UsageRecorded
from domains.billing.limits import RateLimit
from domains.billing.model import Price
from domains.billing.request_log import RequestRecord
from tests.unit.application.fakes.staging import Staged

PERIODS: tuple[Period, ...] = ("day", "month", "total")


class FakeRequestLog:
    def __init__(self, table: dict[str, RequestRecord]) -> None:
        self._table = table
        self.staged: list[RequestRecord] = []

    async def add_all(self, records: Sequence[RequestRecord]) -> None:
        self.staged.extend(records)

    def apply(self) -> None:
        for record in self.staged:
            self._table[record.id] = record
        self.staged = []

    def drop(self) -> None:
        self.staged = []


class FakeUsageLedger:
    def __init__(self, table: dict[str, UsageRecorded]) -> None:
        self._table = table
        self.staged: list[UsageRecorded] = []

    async def recorded_sources(self, source_event_ids: Iterable[str]) -> set[str]:
        return {i for i in source_event_ids if i in self._table}

    async def add_all(self, usages: Sequence[UsageRecorded]) -> set[str]:
        written: set[str] = set()
        for usage in usages:
            taken = usage.source_event_id in self._table or any(
                staged.source_event_id == usage.source_event_id for staged in self.staged
            )
            if not taken:
                self.staged.append(usage)
                written.add(usage.source_event_id)
        return written

    def apply(self) -> None:
        for usage in self.staged:
            self._table[usage.source_event_id] = usage
        self.staged = []

    def drop(self) -> None:
        self.staged = []


class LimitsTables:
    """What the store holds of budgets, caps, rate limits and prices."""

    def __init__(self) -> None:
        self.budgets: dict[tuple[str, str, str], Budget] = {}
        self.caps: dict[tuple[str, str], BudgetCap] = {}
        self.rate_limits: dict[tuple[str, str], RateLimit] = {}
        self.prices: dict[tuple[str, str], Price] = {}


class FakeLimits:
    def __init__(self, tables: LimitsTables) -> None:
        self.budgets = Staged(tables.budgets)
        self.caps = Staged(tables.caps)
        self.rate_limits = Staged(tables.rate_limits)
        self._prices = Staged(tables.prices)

    async def set_budget(self, budget: Budget) -> None:
        key = (budget.scope, budget.scope_id, budget.period)
        if budget.max_picousd is None and budget.max_tokens is None:
            self.budgets.unset(key)
        else:
            self.budgets.put(key, budget)

    async def budgets_of(self, scope: Scope, scope_id: str) -> list[Budget]:
        found = (self.budgets.read((scope, scope_id, period)) for period in PERIODS)
        return [budget for budget in found if budget is not None]

    async def set_budget_cap(self, cap: BudgetCap) -> None:
        self.caps.put((cap.org_id, cap.period), cap)

    async def remove_budget_cap(self, org_id: str, period: Period) -> None:
        self.caps.unset((org_id, period))

    async def budget_cap_of(self, org_id: str, period: Period) -> BudgetCap | None:
        return self.caps.read((org_id, period))

    async def budget_caps_of(self, org_id: str) -> list[BudgetCap]:
        found = (self.caps.read((org_id, period)) for period in PERIODS)
        return [cap for cap in found if cap is not None]

    async def set_rate_limit(self, limit: RateLimit) -> None:
        key = (limit.scope, limit.scope_id)
        if limit.rpm is None and limit.tpm is None:
            self.rate_limits.unset(key)
        else:
            self.rate_limits.put(key, limit)

    async def rate_limit_of(self, scope: Scope, scope_id: str) -> RateLimit | None:
        return self.rate_limits.read((scope, scope_id))

    async def set_price(self, provider: str, model: str, price: Price) -> None:
        self._prices.put((provider, model), price)

    async def prices(self) -> dict[tuple[str, str], Price]:
        return self._prices.view()

    def apply(self) -> None:
        for table in (self.budgets, self.caps, self.rate_limits, self._prices):
            table.apply()

    def drop(self) -> None:
        for table in (self.budgets, self.caps, self.rate_limits, self._prices):
            table.drop()
