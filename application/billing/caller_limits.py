"""Which limits a request is admitted under: its caller's budgets (org, team, user, key) and the
windows they fall in today, and its key's and team's rate limits, looked up once per limits
snapshot and UTC day rather than on every request.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime

from domains.billing.budget import Budget, merged_windows
from domains.billing.limits import LimitsSnapshot, RateLimit
from domains.shared.caller import Caller


@dataclass(frozen=True, slots=True)
class CallerLimits:
    """The limits one request is admitted under, and their `signature`: what an allowance is
    good for (this key, under exactly these limits; a limit changed, or a new day's window,
    takes a new one)."""

    signature: Hashable
    rates: list[RateLimit]
    budgets: list[Budget]
    windows: dict[str, Budget]
    usd_limited: bool  # a US-dollar budget applies


class LimitsLookup:
    """Each caller's limits, for one snapshot and one UTC day; `on_change` is told when either
    changes and every caller's limits are looked up again."""

    def __init__(self, on_change: Callable[[], None] | None = None) -> None:
        self._on_change = on_change
        self._resolved: dict[tuple[str, str, str, str | None], CallerLimits | None] = {}
        self._snapshot: LimitsSnapshot | None = None
        self._day = 0

    def of(self, caller: Caller, snapshot: LimitsSnapshot, now: datetime) -> CallerLimits | None:
        """The caller's limits; None when none applies."""
        day = now.toordinal()
        if snapshot is not self._snapshot or day != self._day:
            self._resolved.clear()
            if self._on_change is not None:
                self._on_change()
            self._snapshot, self._day = snapshot, day
        who = (caller.key_id, caller.team_id, caller.org_id, caller.user_id)
        if who in self._resolved:
            return self._resolved[who]
        budgets = snapshot.budgets_for(
            org_id=caller.org_id,
            team_id=caller.team_id,
            user_id=caller.user_id,
            key_id=caller.key_id,
        )
        rates = snapshot.rate_limits_for(team_id=caller.team_id, key_id=caller.key_id)
        limits = None
        if budgets or rates:
            windows = merged_windows(budgets, now)
            usd_limited = any(budget.max_picousd is not None for budget in budgets)
            limits = CallerLimits(
                _signature(caller, rates, windows), rates, budgets, windows, usd_limited
            )
        self._resolved[who] = limits
        return limits


def _signature(caller: Caller, rates: list[RateLimit], windows: dict[str, Budget]) -> Hashable:
    limits = tuple((key, budget.max_picousd, budget.max_tokens) for key, budget in windows.items())
    return caller.key_id, limits, tuple(rates)
