"""Admission: before a call goes upstream, its rate limits are taken and the most it can cost is
reserved against every budget that applies, all or nothing across both, in one call of the limit
store; afterwards one call settles it to what the upstream reported and gives the unused tokens
back. A caller without limits costs no round trip at all.

Settlements run beside the request (a ticket's `settle` returns at once), so a client that goes
away mid-stream is still charged for what was produced and its reservation freed. Windows the
ledger has never seen (a new day, or a Redis flush) are first seeded with the database's spend,
once per window however many requests find it unseeded at the same moment.

With `allowances` (a shared store, in Redis), a caller's requests are admitted from an
`Allowance` this replica took for them in one call of the store (`domains.billing.allowance`):
no round trip for most requests, and one settlement for many. A request the allowance cannot
cover takes a new one, or, where the limits are too small or too nearly spent for one, goes to
the store alone as before. An allowance admits for `allowance_age` seconds at most, and is
settled once its last request has.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Literal

import structlog

from application.billing.rate_headers import ratelimit_headers
from application.billing.thresholds import crossings
from application.shared.coalescer import Coalescer
from application.shared.tasks import cancel_and_wait
from domains.billing.allowance import (
    FIRST_REQUESTS,
    QUICK,
    Allowance,
    allowance_size,
    grown,
    shrunk,
)
from domains.billing.budget import (
    Amount,
    Budget,
    Refusal,
    Reservation,
    Unseeded,
    max_request_amount,
    merged_windows,
    period_of,
    seconds_until_next,
)
from domains.billing.errors import ModelUnpriced
from domains.billing.events import BudgetThresholdCrossed, RequestRefused
from domains.billing.limit_store import BudgetOutcome, LimitStore, admitted
from domains.billing.limits import LimitsSnapshot, RateLimit
from domains.billing.model import Price
from domains.billing.rate_limit import RateDecision
from domains.shared.caller import Caller
from domains.shared.errors import LimitExceeded
from domains.shared.money import from_picodollars, to_picodollars, usd_text

log = structlog.get_logger("fluxrouter.admission")

UnpricedPolicy = Literal["refuse", "tokens_only"]
SpentInWindow = Callable[[Budget, datetime], Awaitable[Amount]]
Publish = Callable[[Sequence[BudgetThresholdCrossed]], Awaitable[None]]

_SEED_ATTEMPTS = 3


@dataclass(eq=False)
class _Ticket:
    admission: BudgetAdmission
    price: Price | None
    held: Amount
    rates: list[RateLimit]
    budgets: dict[str, Budget]
    reservation: Reservation | None
    headers: Mapping[str, str] = field(default_factory=dict)
    allowance: Allowance | None = None  # admitted from this replica's allowance
    reserved: tuple[int, int] | None = None  # (prompt, output) tokens the amount was held for
    _done: bool = False

    def settle(self, input_tokens: int, output_tokens: int, cached_tokens: int) -> None:
        if self._done:
            return
        self._done = True
        used_tokens = max(input_tokens, 0) + max(output_tokens, 0)
        pico = 0
        if self.price is not None:
            pico = to_picodollars(self.price.cost(input_tokens, output_tokens, cached_tokens))
        actual = Amount(pico, used_tokens)
        if self.allowance is not None:
            self.admission.settle_allowed(self.allowance, self.held, actual)
        else:
            self.admission.run_beside(self.admission.finish(self, actual))

    def release(self) -> None:
        self.settle(0, 0, 0)


class BudgetAdmission:
    def __init__(
        self,
        *,
        limits: Callable[[], LimitsSnapshot],
        store: LimitStore,
        spent_in_window: SpentInWindow,
        unpriced: UnpricedPolicy = "refuse",
        publish: Publish | None = None,
        refusals: Coalescer | None = None,
        reservation_ttl: float = 900.0,
        janitor_every: float = 10.0,
        allowances: bool = False,
        allowance_age: float = 1.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._store = store
        self._spent_in_window = spent_in_window
        self._unpriced = unpriced
        self._publish = publish
        self._refusals = refusals
        self._ttl = reservation_ttl
        self._janitor_every = janitor_every
        self._clock = clock
        self._monotonic = monotonic
        self._beside: set[asyncio.Task[None]] = set()
        self._seeding: dict[str, asyncio.Future[None]] = {}  # by window key, while it is seeded
        self._janitor: asyncio.Task[None] | None = None
        # the allowance each caller's limits are admitted from, by `_signature`; those taking
        # one now; and those refused one, until when (monotonic)
        self._allowances: dict[Hashable, Allowance] | None = {} if allowances else None
        self._allowance_age = allowance_age
        self._taking: dict[Hashable, asyncio.Future[None]] = {}
        self._following: dict[Hashable, Allowance] = {}  # taken beside, to admit from next
        self._renewing: set[Hashable] = set()
        self._stopping = False
        self._no_allowance_until: dict[Hashable, float] = {}
        # how many requests each caller's next allowance asks for, where not FIRST_REQUESTS
        self._wanted: dict[Hashable, int] = {}
        # each caller's limits, for one snapshot and one UTC day (`_limits_of`)
        self._resolved: dict[tuple[str, str, str, str | None], _Limits | None] = {}
        self._resolved_snapshot: LimitsSnapshot | None = None
        self._resolved_day = 0

    async def admit(
        self,
        caller: Caller,
        provider: str,
        model: str,
        estimate: Callable[[], tuple[int, int]],
    ) -> _Ticket | _Free:
        snapshot = self._limits()
        now = self._clock()
        limits = self._limits_of(caller, snapshot, now)
        if limits is None:
            return FREE
        rates, budgets, windows = limits.rates, limits.budgets, limits.windows
        price = snapshot.price_of(provider, model)
        if price is None and limits.usd_limited and self._unpriced == "refuse":
            self._note(caller, "unpriced", f"model:{provider}/{model}", "usd")
            raise ModelUnpriced(
                f"The model `{model}` has no price, and a US-dollar budget applies to this "
                "key: an administrator has to price the model before it can be used."
            )
        reserved = estimate()
        amount = max_request_amount(price, *reserved)
        if self._allowances is not None:
            ticket = await self._from_allowance(limits, price, amount, reserved, now)
            if ticket is not None:
                return ticket
        decision, outcome = await self._take(rates, budgets, windows, amount, now)
        headers: dict[str, str] = {}
        if decision is not None:
            headers = ratelimit_headers(decision)
            if not decision.allowed:
                limit = decision.refused_by or f"key:{caller.key_id}"
                self._note(caller, "rate_limit", limit, decision.measure or "")
                raise _rate_refusal(
                    decision.refused_by, decision.measure, decision.too_large, headers
                )
        if isinstance(outcome, Refusal):
            self._note(caller, "budget", outcome.budget_key, outcome.limit)
            raise _budget_refusal(outcome, windows[outcome.budget_key], amount, now)
        reservation = outcome if isinstance(outcome, Reservation) else None
        return _Ticket(self, price, amount, rates, windows, reservation, headers, reserved=reserved)

    async def _take(
        self,
        rates: list[RateLimit],
        budgets: list[Budget],
        windows: dict[str, Budget],
        amount: Amount,
        now: datetime,
        requests: int = 1,
    ) -> tuple[RateDecision | None, BudgetOutcome | None]:
        """The limit store's answer, once every window it named unseeded has been seeded."""
        for _ in range(_SEED_ATTEMPTS):
            decision, outcome = await self._store.admit(
                rates,
                amount.tokens,
                budgets,
                amount,
                now=now,
                ttl=self._ttl,
                require_seed=True,
                requests=requests,
            )
            if not isinstance(outcome, Unseeded):
                return decision, outcome
            await self._seed(outcome, windows, now)
        raise RuntimeError("budget windows could not be seeded from the database")

    def _note(self, caller: Caller, kind: str, limit: str, measure: str) -> None:
        """Counts the refusal for the audit log (alike ones are written together)."""
        if self._refusals is None:
            return

        def make(count: int, first: datetime, last: datetime) -> RequestRefused:
            return RequestRefused(
                kind=kind,
                key_id=caller.key_id,
                team_id=caller.team_id,
                org_id=caller.org_id,
                user_id=caller.user_id,
                limit=limit,
                measure=measure,
                count=count,
                first_at=first,
                last_at=last,
            )

        self._refusals.note(("refused", caller.key_id, kind, limit, measure), make)

    async def _seed(self, unseeded: Unseeded, windows: dict[str, Budget], now: datetime) -> None:
        """Seeds each window the store named unseeded, once however many requests ask at the
        same time: the first starts the seeding, the others wait for it (the database is read
        once per window, and a burst of first requests holds no connection of the pool)."""
        for key in unseeded.keys:
            seeding = self._seeding.get(key)
            if seeding is None:
                seeding = asyncio.ensure_future(self._seed_window(key, windows[key], now))
                self._seeding[key] = seeding
                seeding.add_done_callback(partial(self._seeded, key))
            await asyncio.shield(seeding)  # a request that goes away leaves it to the others

    async def _seed_window(self, key: str, budget: Budget, now: datetime) -> None:
        spent = await self._spent_in_window(budget, now)
        await self._store.seed(budget, spent, now=now)
        log.info("budget.seeded", window=key, spent_tokens=spent.tokens)

    def _seeded(self, key: str, seeding: asyncio.Future[None]) -> None:
        """A seeding ended: the next request that finds the window unseeded (it failed, or the
        store lost the window since) starts another."""
        if self._seeding.get(key) is seeding:
            del self._seeding[key]
        if not seeding.cancelled() and seeding.exception() is not None:
            log.warning(
                "budget.seeding_failed", window=key, error=type(seeding.exception()).__name__
            )

    async def finish(self, ticket: _Ticket, actual: Amount) -> None:
        """The settlement of one ticket, in one call of the store: charge and give back unused
        tokens; then raise the thresholds it crossed."""
        await self._settle(ticket.rates, ticket.budgets, ticket.reservation, ticket.held, actual)

    async def _settle(
        self,
        rates: list[RateLimit],
        windows: dict[str, Budget],
        reservation: Reservation | None,
        held: Amount,
        actual: Amount,
        unused_requests: int = 0,
    ) -> None:
        """Charges `actual` to what held `held` (one request, or an allowance) and gives back
        the tokens (and requests) it did not use."""
        unused_tokens = max(held.tokens - actual.tokens, 0) if rates else 0
        after = await self._store.finish(
            rates, unused_tokens, reservation, actual, refund_requests=unused_requests
        )
        if after and reservation is not None and self._publish is not None:
            budgets = [windows[key] for key in reservation.keys]
            crossed = crossings(budgets, reservation.keys, after, actual)
            if crossed:
                await self._publish(crossed)

    def _limits_of(self, caller: Caller, snapshot: LimitsSnapshot, now: datetime) -> _Limits | None:
        """The caller's limits and their windows, looked up once per snapshot and UTC day;
        None when none applies."""
        day = now.toordinal()
        if snapshot is not self._resolved_snapshot or day != self._resolved_day:
            self._resolved.clear()
            self._wanted.clear()
            self._resolved_snapshot, self._resolved_day = snapshot, day
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
            signature = _signature(caller, rates, windows)
            limits = _Limits(signature, rates, budgets, windows, usd_limited)
        self._resolved[who] = limits
        return limits

    async def _from_allowance(
        self,
        limits: _Limits,
        price: Price | None,
        amount: Amount,
        reserved: tuple[int, int],
        now: datetime,
    ) -> _Ticket | None:
        """A ticket from the caller's allowance, taking a new one if need be (or waiting for the
        one being taken); None when the request goes to the store alone: no allowance fits the
        limits, or the new one could not cover it either."""
        assert self._allowances is not None
        signature = limits.signature
        current = self._allowances.get(signature)
        if current is not None:
            if current.take(amount):
                self._renew_when_half_used(limits, current, amount, now)
                return self._allowed_ticket(current, price, amount, reserved)
            self._retire(signature, current)
        current = self._promote(signature)
        if current is None:
            refused_until = self._no_allowance_until.get(signature, 0.0)
            if signature in self._taking or refused_until <= self._monotonic():
                await self._new_allowance(limits, amount, now)
            current = self._promote(signature)
        if current is not None and current.take(amount):
            return self._allowed_ticket(current, price, amount, reserved)
        return None

    def _promote(self, signature: Hashable) -> Allowance | None:
        """The allowance to admit from: the current one, else the next one taken beside."""
        assert self._allowances is not None
        current = self._allowances.get(signature)
        if current is None:
            following = self._following.pop(signature, None)
            if following is not None and not following.closed:
                current = self._allowances[signature] = following
        return current

    def _renew_when_half_used(
        self, limits: _Limits, current: Allowance, amount: Amount, now: datetime
    ) -> None:
        """Once half used, the next allowance is taken beside, before a request must wait;
        twice as large if this one was half used quickly."""
        signature = limits.signature
        if current.admitted * 2 < current.requests or signature in self._renewing:
            return
        if signature in self._following or signature in self._taking or self._stopping:
            return
        if self._monotonic() - current.taken_at < self._allowance_age / QUICK:
            self._wanted[signature] = grown(self._wanted_by(signature))
        self._renewing.add(signature)
        self.run_beside(self._renew(limits, amount, now))

    async def _renew(self, limits: _Limits, amount: Amount, now: datetime) -> None:
        try:
            await self._new_allowance(limits, amount, now, following=True)
        except Exception:  # the next request takes one itself, or goes alone
            log.exception("admission.allowance_failed")
        finally:
            self._renewing.discard(limits.signature)

    async def _new_allowance(
        self, limits: _Limits, amount: Amount, now: datetime, *, following: bool = False
    ) -> None:
        """Takes an allowance for requests of about `amount` from the store: the one these
        limits admit from now, or (`following`) once the current one is used up; or, while one
        is being taken for them, waits for that one instead. None when it would be too small,
        or the store refuses it."""
        assert self._allowances is not None
        signature = limits.signature
        pending = self._taking.get(signature)
        if pending is not None:
            await asyncio.shield(pending)
            return
        size = allowance_size(limits.rates, limits.windows, amount, self._wanted_by(signature))
        if not size:
            return
        taking = self._taking[signature] = asyncio.get_running_loop().create_future()
        try:
            taken = Amount(amount.picousd * size, amount.tokens * size)
            decision, outcome = await self._take(
                limits.rates, limits.budgets, limits.windows, taken, now, size
            )
        finally:
            if self._taking.get(signature) is taking:
                del self._taking[signature]
            taking.set_result(None)
        if not admitted(decision, outcome):  # too little left for a slice: one at a time
            self._no_allowance_until[signature] = self._monotonic() + self._allowance_age
            return
        reservation = outcome if isinstance(outcome, Reservation) else None
        allowance = Allowance(
            size,
            taken,
            limits.rates,
            limits.windows,
            decision,
            reservation,
            taken_at=self._monotonic(),
        )
        held = self._following if following else self._allowances
        previous = held.get(signature)
        if previous is not None:
            self._retire(signature, previous)
        held[signature] = allowance
        asyncio.get_running_loop().call_later(
            self._allowance_age, self._expire, signature, allowance
        )

    def _allowed_ticket(
        self, allowance: Allowance, price: Price | None, amount: Amount, reserved: tuple[int, int]
    ) -> _Ticket:
        shown = allowance.shown()
        headers = ratelimit_headers(shown) if shown is not None else {}
        return _Ticket(
            self,
            price,
            amount,
            allowance.rates,
            allowance.windows,
            None,
            headers,
            allowance,
            reserved=reserved,
        )

    def settle_allowed(self, allowance: Allowance, holding: Amount, actual: Amount) -> None:
        """A request admitted from `allowance`, which held `holding`, used `actual`: charged
        to the allowance at once."""
        allowance.settle(holding, actual)
        self._settle_if_done(allowance)

    def _wanted_by(self, signature: Hashable) -> int:
        """How many requests the caller's next allowance asks for."""
        return self._wanted.get(signature, FIRST_REQUESTS)

    def _expire(self, signature: Hashable, allowance: Allowance) -> None:
        """The allowance reached its age: retired, and if it was little used (a quarter or
        less), the caller's next one is half as large."""
        if not allowance.closed and allowance.admitted * 4 <= allowance.requests:
            wanted = shrunk(self._wanted_by(signature))
            if wanted == FIRST_REQUESTS:
                self._wanted.pop(signature, None)
            else:
                self._wanted[signature] = wanted
        self._retire(signature, allowance)

    def _retire(self, signature: Hashable, allowance: Allowance) -> None:
        """The allowance admits no more; it is settled once its last request has."""
        for held in (self._allowances, self._following):
            if held is not None and held.get(signature) is allowance:
                del held[signature]
        allowance.closed = True
        self._settle_if_done(allowance)

    def _settle_if_done(self, allowance: Allowance) -> None:
        if allowance.to_settle():
            settlement = self._settle(
                allowance.rates,
                allowance.windows,
                allowance.reservation,
                allowance.held,
                allowance.spent,
                allowance.unused_requests(),
            )
            self.run_beside(settlement)

    def _retire_all(self) -> None:
        for held in (self._allowances or {}, self._following):
            for signature, allowance in list(held.items()):
                self._retire(signature, allowance)

    def run_beside(self, work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(self._logged(work))
        self._beside.add(task)
        task.add_done_callback(self._beside.discard)

    async def _logged(self, work: Awaitable[None]) -> None:
        try:
            await work
        except Exception:  # the janitor frees what a failed settlement held
            log.exception("admission.settlement_failed")

    def start(self) -> None:
        self._stopping = False
        if self._janitor is None:
            self._janitor = asyncio.create_task(self._sweep(), name="budget-janitor")

    async def stop(self) -> None:
        await cancel_and_wait(self._janitor)
        self._janitor = None
        self._stopping = True  # no allowance is taken beside from now on
        await self.wait_settled()  # one being taken beside, too
        self._retire_all()
        await self.wait_settled()

    async def wait_settled(self) -> None:
        """Until every settlement started so far has run."""
        while self._beside:
            await asyncio.gather(*self._beside, return_exceptions=True)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._janitor_every)
            try:
                released = await self._store.release_expired()
            except Exception:
                log.exception("budget.janitor_failed")
                continue
            if released:
                log.warning("budget.reservations_expired", released=released)
            now = self._monotonic()
            self._no_allowance_until = {
                key: until for key, until in self._no_allowance_until.items() if until > now
            }


@dataclass(frozen=True, slots=True)
class _Limits:
    """The limits one request is admitted under, and their `_signature`."""

    signature: Hashable
    rates: list[RateLimit]
    budgets: list[Budget]
    windows: dict[str, Budget]
    usd_limited: bool  # a US-dollar budget applies


def _signature(caller: Caller, rates: list[RateLimit], windows: dict[str, Budget]) -> Hashable:
    """What an allowance is good for: this key, under exactly these limits (a limit changed,
    or a new day's window, takes a new one)."""
    limits = tuple((key, budget.max_picousd, budget.max_tokens) for key, budget in windows.items())
    return caller.key_id, limits, tuple(rates)


class _Free:
    """The ticket of a caller no limit applies to."""

    headers: Mapping[str, str] = {}
    reserved: tuple[int, int] | None = None

    def settle(self, input_tokens: int, output_tokens: int, cached_tokens: int) -> None:
        return None

    def release(self) -> None:
        return None


FREE = _Free()


def _rate_refusal(
    refused_by: str | None, measure: str | None, too_large: bool, headers: dict[str, str]
) -> LimitExceeded:
    scope = (refused_by or "").split(":", 1)[0] or "key"
    if too_large:
        return LimitExceeded(
            f"Request too large: it may use more tokens than this {scope}'s tokens-per-minute "
            "limit allows at all. Lower `max_tokens` or shorten the prompt.",
            code="rate_limit_exceeded",
            error_type="tokens",
            headers=headers,
            retryable=False,
        )
    what = "tokens" if measure == "tokens" else "requests"
    return LimitExceeded(
        f"Rate limit reached for {what} per minute on this {scope}. "
        f"Try again in {headers.get('Retry-After', '1')} s.",
        code="rate_limit_exceeded",
        error_type=what,
        headers=headers,
    )


def _budget_refusal(
    refused: Refusal, budget: Budget, amount: Amount, now: datetime
) -> LimitExceeded:
    if refused.limit == "usd":
        left = f"${usd_text(from_picodollars(refused.remaining.picousd))} left"
        need = f"up to ${usd_text(from_picodollars(amount.picousd))}"
    else:
        left = f"{refused.remaining.tokens} tokens left"
        need = f"up to {amount.tokens} tokens"
    period = period_of(refused.budget_key)
    when = {"day": "today (UTC)", "month": "this month (UTC)", "total": "in total"}[period]
    headers: dict[str, str] = {}
    wait = seconds_until_next(period, now)
    if wait is not None:
        headers["Retry-After"] = str(wait)
    return LimitExceeded(
        f"Budget exceeded: the {budget.scope}'s budget {when} has {left}, and this request "
        f"may cost {need}.",
        code="budget_exceeded",
        error_type="insufficient_quota",
        headers=headers,
        retryable=False,
    )
