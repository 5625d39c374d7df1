"""Where billing's admission is composed: the limits cache (budgets, rate limits and prices, read
from the database, YAML prices winning), the limit store (in Redis when one is configured, shared
by every replica, else in process), the prompt counter, and `BudgetAdmission` over them, which
answers the gateway's `Admission` port."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from application.billing.admission import BudgetAdmission
from application.billing.limits_cache import LimitsCache
from application.bus import MessageBus
from application.shared.coalescer import Coalescer
from application.shared.record_events import RecordEvents
from domains.billing.budget import Amount, Budget, BudgetLedger
from domains.billing.events import BudgetThresholdCrossed
from domains.billing.limit_store import LimitStore
from domains.billing.model import Price
from infrastructure.billing.memory_limit_store import InMemoryLimitStore
from infrastructure.db.repositories.limits import load_limits_snapshot
from infrastructure.queries.spend import spent_in_window
from infrastructure.settings import Settings
from infrastructure.settings.providers import domain_price
from infrastructure.tokens.bpe_prompt_counter import BpePromptCounter

if TYPE_CHECKING:  # imported where Redis is configured
    import redis.asyncio as aioredis

REDIS_CONNECTIONS = 64

# what a budget window spent that the database does not hold yet (added when it is seeded)
Unwritten = Callable[[Budget, datetime], Amount]


def config_prices(settings: Settings) -> dict[tuple[str, str], Price]:
    """The prices the YAML sets; they win over prices set through the admin API."""
    return {
        (provider.name, model.name): domain_price(model.price)
        for provider in settings.providers
        for model in provider.models
        if model.price is not None
    }


def limits_cache(settings: Settings, engine: AsyncEngine) -> LimitsCache:
    return LimitsCache(
        functools.partial(load_limits_snapshot, engine, config_prices(settings)),
        every=settings.billing.limits_reload_seconds,
    )


@dataclass
class Admission:
    """Billing's admission and what it runs on, started and stopped together."""

    limits: LimitsCache
    store: LimitStore
    counter: BpePromptCounter
    admission: BudgetAdmission
    redis: aioredis.Redis | None  # the limit store's own client, when in Redis

    @property
    def ledger(self) -> BudgetLedger:
        """The budget windows' spend and what requests in flight hold reserved."""
        return self.store

    async def start(self) -> None:
        await self.limits.start()
        if self.limits.snapshot.budgets or self.limits.snapshot.rate_limits:
            await asyncio.to_thread(self.counter.warm)  # off the first limited request's path
        self.admission.start()

    async def stop(self) -> None:
        await self.admission.stop()
        await self.limits.stop()
        if self.redis is not None:
            await self.redis.aclose()


def build_admission(
    settings: Settings,
    engine: AsyncEngine,
    limits: LimitsCache,
    bus: MessageBus,
    refusals: Coalescer,
    unwritten: Unwritten | None = None,
) -> Admission:
    redis = None
    store: LimitStore
    if settings.redis.url:
        from infrastructure.billing.redis_limit_store import RedisLimitStore
        from infrastructure.billing.redis_pool import limit_client

        # admissions wait for a free connection under a burst instead of failing
        redis = limit_client(settings.redis.url, max_connections=REDIS_CONNECTIONS, timeout=5)
        store = RedisLimitStore(redis, settings.redis.namespace)
    else:
        store = InMemoryLimitStore()

    async def spent(budget: Budget, now: datetime) -> Amount:
        written = await spent_in_window(engine, budget.scope, budget.scope_id, budget.period, now)
        return written + unwritten(budget, now) if unwritten is not None else written

    async def publish(crossings: Sequence[BudgetThresholdCrossed]) -> None:
        await bus.handle(RecordEvents(events=tuple(crossings)))

    admission = BudgetAdmission(
        limits=limits.current,
        store=store,
        spent_in_window=spent,
        unpriced="tokens_only" if settings.billing.unpriced == "tokens_only" else "refuse",
        publish=publish,
        refusals=refusals,
        # most requests are admitted from an allowance this process took for them: no round
        # trip to Redis, and in memory a fifth of the CPU of checking every window and bucket
        allowances=True,
    )
    return Admission(limits, store, BpePromptCounter(), admission, redis)
