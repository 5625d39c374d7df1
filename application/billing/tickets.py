"""What an admitted call holds until it settles (the providers context's `Ticket`): one reserved
in the limit store for this call alone, one admitted from an allowance, or, for a caller no limit
applies to, `FREE`. Settling charges what the call used, at once for an allowance's, beside the
call for one reserved alone; it counts once, and a release is a settlement of nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from application.billing.allowances import Allowances
from application.billing.reservations import Reservations
from domains.billing.allowance import Allowance
from domains.billing.budget import Amount, Budget, Reservation
from domains.billing.limits import RateLimit
from domains.billing.model import Price
from domains.shared.usage import Usage

NOTHING = Usage()


def _used(price: Price | None, usage: Usage) -> Amount:
    tokens = max(usage.input_tokens, 0) + max(usage.output_tokens, 0)
    if price is None:
        return Amount(0, tokens)
    return Amount(price.picousd(usage), tokens)


@dataclass(eq=False, slots=True)
class ReservedTicket:
    """A call reserved alone: its rate limits taken and `held` reserved on its windows."""

    reservations: Reservations
    price: Price | None
    held: Amount
    rates: list[RateLimit]
    windows: dict[str, Budget]
    reservation: Reservation | None
    headers: Mapping[str, str]
    reserved: tuple[int, int] | None  # (prompt, output) tokens the amount was held for
    _done: bool = field(default=False, repr=False)

    def settle(self, usage: Usage) -> None:
        if self._done:
            return
        self._done = True
        actual = _used(self.price, usage)
        self.reservations.settle_beside(
            self.rates, self.windows, self.reservation, self.held, actual
        )

    def release(self) -> None:
        self.settle(NOTHING)


@dataclass(eq=False, slots=True)
class AllowedTicket:
    """A call admitted from an allowance, holding `held` of it."""

    allowances: Allowances
    allowance: Allowance
    price: Price | None
    held: Amount
    headers: Mapping[str, str]
    reserved: tuple[int, int] | None  # (prompt, output) tokens the amount was held for
    _done: bool = field(default=False, repr=False)

    def settle(self, usage: Usage) -> None:
        if self._done:
            return
        self._done = True
        actual = _used(self.price, usage)
        self.allowances.settle(self.allowance, self.held, actual)

    def release(self) -> None:
        self.settle(NOTHING)


class FreeTicket:
    """The ticket of a caller no limit applies to."""

    headers: Mapping[str, str] = {}
    reserved: tuple[int, int] | None = None

    def settle(self, usage: Usage) -> None:
        return None

    def release(self) -> None:
        return None


FREE = FreeTicket()

BillingTicket = ReservedTicket | AllowedTicket | FreeTicket
