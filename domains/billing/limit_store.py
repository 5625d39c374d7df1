"""The limit store: a request's rate limits and budgets checked and taken as one step, and settled
as one step.

An admission checks every rate bucket and every budget window first and only then takes from
all of them: a budget that refuses, or a window not yet seeded, takes nothing from the rate
buckets, and a rate limit that refuses holds nothing against the budgets. A finish charges the
reservation and gives the unused tokens back to the token buckets together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from domains.billing.budget import (
    Amount,
    Budget,
    BudgetLedger,
    Refusal,
    Reservation,
    Unseeded,
)
from domains.billing.limits import RateLimit
from domains.billing.rate_limit import RateDecision

BudgetOutcome = Reservation | Refusal | Unseeded


def admitted(decision: RateDecision | None, outcome: BudgetOutcome | None) -> bool:
    """Whether an admission took and held something: every part that applied allowed it."""
    return (decision is None or decision.allowed) and (
        outcome is None or isinstance(outcome, Reservation)
    )


class LimitStore(BudgetLedger, Protocol):
    """The rate limits and the budget ledger, admitted and settled together; the windows'
    spend, seeding and janitor as the ledger's."""

    async def admit(
        self,
        rates: Sequence[RateLimit],
        tokens: int,
        budgets: Sequence[Budget],
        amount: Amount,
        *,
        now: datetime,
        ttl: float = 600,
        require_seed: bool = False,
        requests: int = 1,
    ) -> tuple[RateDecision | None, BudgetOutcome | None]:
        """All or nothing across both: takes `requests` requests (one, unless an allowance
        takes several at once) and `tokens` tokens from every bucket the rate limits have and
        reserves `amount` against every budget window, or takes and holds nothing at all.

        The decision is None when no rate limit is given; the outcome None when no budget is,
        or when the rate limits refused (the budgets are then not looked at). Budgets that
        refuse, or windows never seeded (with `require_seed`), leave the rate buckets as they
        were although the decision shown allowed the request: `admitted` tells."""
        ...

    async def finish(
        self,
        rates: Sequence[RateLimit],
        refund_tokens: int,
        reservation: Reservation | None,
        actual: Amount,
        *,
        refund_requests: int = 0,
    ) -> list[Amount]:
        """Settles the reservation to `actual` and gives `refund_tokens` back to the rates'
        token buckets (and `refund_requests`, an allowance's unused requests, to their request
        buckets), together. Answers each window's spend after the charge, in
        `reservation.keys` order; empty without a reservation or when it was settled already,
        in which case nothing is given back either (a finish counts once per reservation)."""
        ...
