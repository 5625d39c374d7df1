"""A replica's allowance: a small slice of one caller's limits, taken from the shared limit store
in one admission, from which the replica admits that caller's next requests in process.

Taking it is an ordinary admission, all or nothing, of `requests` requests at once: their
tokens from every rate bucket and their largest cost held against every budget window. The
requests it admits then hold their own largest cost against it; a settled one charges it what
it used and leaves the rest for the next. It takes no more once its requests are used up, once
a request would need more than it has left, or once it is `max_age` old; then, when its last
request has settled, it is settled in the shared store in one call, as one request would be:
the spend of all its requests charged, what they held released, the unused requests and tokens
given back to the rate buckets.

So nothing is admitted that the shared limits did not grant first: no budget is overrun and no
rate exceeded, whatever the replicas. What an allowance holds but has not used is, until it is
settled, unavailable to the other replicas; `allowance_size` keeps that below
1/`SHARE_DIVISOR` of every limit, and grants none at all where that is under two requests'
worth, so a small or nearly spent limit is admitted one request at a time, exactly as before.

How many requests a caller's next allowance takes follows how fast its requests come: the first
takes `FIRST_REQUESTS`; one half used within 1/`QUICK` of its longest life makes the next twice
as large (`grown`, up to `MOST_REQUESTS`), one that reached its age a quarter used or less
makes the next half as large (`shrunk`). A busy caller then goes to the shared store once for
hundreds of requests, a quiet one holds no more than before, and neither holds more than
1/`SHARE_DIVISOR` of any limit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from domains.billing.budget import ZERO, Amount, Budget, Reservation
from domains.billing.limits import RateLimit
from domains.billing.rate_limit import RateDecision, RateWindow

SHARE_DIVISOR = 64  # an allowance holds at most 1/64 of any limit it takes from
FIRST_REQUESTS = 32  # a caller's first allowance, and the smallest a quiet caller's shrinks to
MOST_REQUESTS = 512  # however fast a caller's requests come
QUICK = 8  # half used within 1/8 of an allowance's longest life: the next one is twice as large


def allowance_size(
    rates: Iterable[RateLimit],
    windows: Mapping[str, Budget],
    amount: Amount,
    wanted: int = FIRST_REQUESTS,
) -> int:
    """How many requests of `amount` an allowance takes: `wanted` at most, and
    1/`SHARE_DIVISOR` of every limit; 0 (none) when that is fewer than two."""
    size = wanted
    for budget in windows.values():
        size = min(size, _share(budget.max_picousd, amount.picousd, wanted))
        size = min(size, _share(budget.max_tokens, amount.tokens, wanted))
    for rate in rates:
        size = min(size, _share(rate.rpm, 1, wanted), _share(rate.tpm, amount.tokens, wanted))
    return size if size >= 2 else 0


def _share(limit: int | None, each: int, wanted: int) -> int:
    if limit is None or each <= 0:
        return wanted
    return limit // (SHARE_DIVISOR * each)


def grown(wanted: int) -> int:
    """The next allowance's size for a caller whose last one was half used quickly."""
    return min(wanted * 2, MOST_REQUESTS)


def shrunk(wanted: int) -> int:
    """The next allowance's size for a caller whose last one reached its age little used."""
    return max(wanted // 2, FIRST_REQUESTS)


@dataclass(eq=False, slots=True)
class Allowance:
    """What was taken (`requests`, and `held`: the picodollars held on the windows and the
    tokens taken from the buckets and held on the windows) from which limits, the shared
    store's decision and reservation for it, and what its requests have done with it."""

    requests: int
    held: Amount
    rates: list[RateLimit]
    windows: dict[str, Budget]
    decision: RateDecision | None
    reservation: Reservation | None
    admitted: int = 0
    in_flight: int = 0
    holding: Amount = ZERO  # the largest cost of the requests in flight
    spent: Amount = ZERO  # what the settled requests used
    closed: bool = False  # admits no more
    taken_at: float = 0.0  # when it was taken (a monotonic clock's seconds)
    _settling: bool = field(default=False, repr=False)

    def take(self, amount: Amount) -> bool:
        """Admits one request of largest cost `amount` if what is left covers it."""
        if self.closed or self.admitted >= self.requests:
            return False
        left_picousd, left_tokens = self._left()
        if amount.picousd > left_picousd or amount.tokens > left_tokens:
            return False
        self.admitted += 1
        self.in_flight += 1
        self.holding = self.holding + amount
        return True

    def settle(self, holding: Amount, actual: Amount) -> None:
        """One of its requests, which held `holding`, used `actual`."""
        self.in_flight -= 1
        self.holding = Amount(
            self.holding.picousd - holding.picousd, self.holding.tokens - holding.tokens
        )
        self.spent = self.spent + actual

    def to_settle(self) -> bool:
        """Whether to settle it in the shared store now: closed, with nothing in flight, and
        not asked before (true once)."""
        if not self.closed or self.in_flight or self._settling:
            return False
        self._settling = True
        return True

    def unused_requests(self) -> int:
        return self.requests - self.admitted

    def shown(self) -> RateDecision | None:
        """The rate decision a request it admits shows: the shared store's, when the allowance
        was taken, plus what the allowance has left of it."""
        decision = self.decision
        if decision is None:
            return None
        requests, tokens = decision.requests, decision.tokens
        if requests is not None:
            shown = min(requests.remaining + self.unused_requests(), requests.limit)
            requests = RateWindow(requests.limit, shown, requests.reset_seconds)
        if tokens is not None:
            shown = min(tokens.remaining + max(self._left()[1], 0), tokens.limit)
            tokens = RateWindow(tokens.limit, shown, tokens.reset_seconds)
        return RateDecision(True, None, None, None, requests, tokens)

    def _left(self) -> tuple[int, int]:
        """(picodollars, tokens) left: negative once requests used more than they held."""
        return (
            self.held.picousd - self.holding.picousd - self.spent.picousd,
            self.held.tokens - self.holding.tokens - self.spent.tokens,
        )
