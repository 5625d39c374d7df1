"""Budgets: spend limits per org, team, user or key, per day, month or for all time.

A request first reserves the most it can cost against every budget that applies, all or
nothing, then settles to what it really used. Checking and reserving happen as one step, so
concurrent requests cannot together overrun a budget; money is whole picodollars (1e-12 USD).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Literal, Protocol, get_args

from domains.billing.model import Price

Scope = Literal["org", "team", "user", "key"]
Period = Literal["day", "month", "total"]

_PERIODS: tuple[str, ...] = get_args(Period)
_SCOPES: tuple[str, ...] = get_args(Scope)
# How long a window's counters outlive its period (slack for late settlements and reports), and a
# finished reservation its settlement (a second settlement within it changes nothing).
_RETENTION_SECONDS: dict[str, int | None] = {"day": 3 * 86_400, "month": 40 * 86_400, "total": None}
FINISHED_RETENTION_SECONDS = 86_400


def window(period: Period, now: datetime) -> str:
    """The UTC calendar window `now` falls in: "2026-11-23", "2026-11", or "total"."""
    if now.tzinfo is None:
        raise ValueError("budget windows need a timezone-aware datetime")
    if period == "total":
        return "total"
    utc = now.astimezone(UTC)  # formatted by hand: strftime costs more, on every request
    if period == "day":
        return f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
    if period == "month":
        return f"{utc.year:04d}-{utc.month:02d}"
    raise ValueError(f"unknown budget period {period!r}")


def seconds_until_next(period: Period, now: datetime) -> int | None:
    """Whole seconds (rounded up) until the window after `now`'s starts; None for "total"."""
    utc = now.astimezone(UTC)
    if period == "total":
        return None
    if period == "day":
        start = utc.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        first = utc.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        start = (
            first.replace(year=first.year + 1, month=1)
            if first.month == 12
            else first.replace(month=first.month + 1)
        )
    return max(1, math.ceil((start - utc).total_seconds()))


def period_of(key: str) -> Period:
    """The period of a window key made by `Budget.key`."""
    period = key.split(":")[2]
    if period not in _PERIODS:
        raise ValueError(f"not a budget window key: {key!r}")
    return period  # type: ignore[return-value]  # checked against the Literal's values


def retention_seconds(key: str) -> int | None:
    """How long a window's counters live after its period ends (after the window was first
    written, when that was later: a late settlement); None for ever. Later writes do not
    extend it: see `forget_at`."""
    return _RETENTION_SECONDS[period_of(key)]


def period_end(key: str) -> float | None:
    """The Unix time the window of a key made by `Budget.key` ends at; None for "total"."""
    period = period_of(key)
    if period == "total":
        return None
    year, month, *day = (int(part) for part in key.split(":")[3].split("-"))
    start = datetime(year, month, day[0] if day else 1, tzinfo=UTC)
    return start.timestamp() + (seconds_until_next(period, start) or 0)


def forget_at(key: str, created: float) -> float | None:
    """When the counters of a window first written at `created` (Unix time) may be forgotten:
    `retention_seconds` after the later of its period's end and `created`; None never."""
    kept = _end_and_retention(key)
    return None if kept is None else max(kept[0], created) + kept[1]


@lru_cache(maxsize=4096)  # every request asks, for the same few windows
def _end_and_retention(key: str) -> tuple[float, int] | None:
    end, retention = period_end(key), retention_seconds(key)
    return None if end is None or retention is None else (end, retention)


@dataclass(frozen=True, slots=True)
class Budget:
    """A limit in picodollars, in tokens, or both; None is no limit on that measure."""

    scope: Scope
    scope_id: str
    period: Period
    max_picousd: int | None
    max_tokens: int | None

    def __post_init__(self) -> None:
        if self.scope not in _SCOPES or self.period not in _PERIODS:
            raise ValueError(f"unknown budget scope or period: {self.scope!r}, {self.period!r}")
        if not self.scope_id or ":" in self.scope_id or any(c.isspace() for c in self.scope_id):
            raise ValueError(f"a budget's scope id cannot be empty or hold ':' {self.scope_id!r}")
        for limit in (self.max_picousd, self.max_tokens):
            if limit is not None and limit < 0:
                raise ValueError("a budget's limits cannot be negative")

    def key(self, now: datetime) -> str:
        """The window's stable id: "team:<id>:day:2026-11-23", "key:<id>:total"."""
        if self.period == "total":
            return f"{self.scope}:{self.scope_id}:total"
        return f"{self.scope}:{self.scope_id}:{self.period}:{window(self.period, now)}"


@dataclass(frozen=True, slots=True)
class Amount:
    picousd: int
    tokens: int

    def __post_init__(self) -> None:
        if self.picousd < 0 or self.tokens < 0:
            raise ValueError("an amount cannot be negative")

    def __add__(self, other: Amount) -> Amount:
        return Amount(self.picousd + other.picousd, self.tokens + other.tokens)


ZERO = Amount(0, 0)


def max_request_amount(price: Price | None, prompt_tokens: int, max_output_tokens: int) -> Amount:
    """The most a request can cost (`Price.most_picousd`): at the rates of the tier its prompt
    falls in, every prompt token at the dearest prompt rate (plain, cache read or cache write)
    and every possible output token at the dearest output rate (plain or reasoning), in
    picodollars rounded up. Unpriced models cost 0 picodollars here; whether to serve them is a
    policy's decision."""
    if prompt_tokens < 0 or max_output_tokens < 0:
        raise ValueError("token counts cannot be negative")
    tokens = prompt_tokens + max_output_tokens
    if price is None:
        return Amount(0, tokens)
    return Amount(price.most_picousd(prompt_tokens, max_output_tokens), tokens)


def merged_windows(budgets: Sequence[Budget], now: datetime) -> dict[str, Budget]:
    """The windows the budgets fall in, in order; a window named twice keeps the tighter limits."""
    windows: dict[str, Budget] = {}
    for budget in budgets:
        key = budget.key(now)
        seen = windows.get(key)
        if seen is None:
            windows[key] = budget
            continue
        windows[key] = replace(
            seen,
            max_picousd=_tighter(seen.max_picousd, budget.max_picousd),
            max_tokens=_tighter(seen.max_tokens, budget.max_tokens),
        )
    return windows


def _tighter(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


@dataclass(frozen=True, slots=True)
class Reservation:
    """Held against every window in `keys`; `expires_at` is Unix time, after which a janitor
    may release it (a settlement after that still charges what was used)."""

    id: str
    keys: tuple[str, ...]
    amount: Amount
    expires_at: float


@dataclass(frozen=True, slots=True)
class Unseeded:
    """The windows that have not been seeded with the database's spend yet (a new window, or
    one a Redis flush or a restart lost); nothing was held. Seed them and reserve again."""

    keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Refusal:
    """The first budget that could not take the request. `remaining` is what is left on each
    limited measure (never negative); a measure the budget does not limit reads 0."""

    budget_key: str
    limit: Literal["usd", "tokens"]
    remaining: Amount


class BudgetLedger(Protocol):
    """The budget windows' counters: what each has spent and holds reserved, their seeding
    from the database, and the janitor. Reserving and settling go through the limit store
    (`domains.billing.limit_store`), together with the rate limits."""

    async def spent(self, budget: Budget, *, now: datetime) -> tuple[Amount, Amount]:
        """The window's (spent, reserved)."""
        ...

    async def seed(self, budget: Budget, spent: Amount, *, now: datetime) -> None:
        """Marks the window seeded with the database's spend: its spend becomes the larger of
        what it holds (settlements since a flush) and `spent`, per measure. A window already
        seeded is left as it is."""
        ...

    async def release_expired(self) -> int:
        """Releases the reservations past their expiry; how many."""
        ...


def refusal(
    key: str, budget: Budget, spent: Amount, reserved: Amount, amount: Amount
) -> Refusal | None:
    """Why the window cannot take `amount` on top of what it has, or None if it can."""
    used = spent + reserved
    remaining = Amount(
        0 if budget.max_picousd is None else max(budget.max_picousd - used.picousd, 0),
        0 if budget.max_tokens is None else max(budget.max_tokens - used.tokens, 0),
    )
    if budget.max_picousd is not None and used.picousd + amount.picousd > budget.max_picousd:
        return Refusal(key, "usd", remaining)
    if budget.max_tokens is not None and used.tokens + amount.tokens > budget.max_tokens:
        return Refusal(key, "tokens", remaining)
    return None
