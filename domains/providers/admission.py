"""What the gateway asks before it calls a model: may this caller spend on it now?

The providers context defines the question; another context answers it (budgets and rate
limits), wired in at the composition root. A refusal raises `LimitExceeded` (429) or
`Forbidden` (403) before any upstream call. An admitted call holds a ticket that the gateway
settles with the usage the upstream reported, or releases if nothing was used, exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from domains.shared.caller import Caller
from domains.shared.usage import Usage

# (prompt tokens, the most output tokens the request may produce); counted only when needed
Estimate = Callable[[], tuple[int, int]]


class Ticket(Protocol):
    @property
    def headers(self) -> Mapping[str, str]:
        """What the caller is told of their limits on the answer (`x-ratelimit-*`)."""
        ...

    @property
    def reserved(self) -> tuple[int, int] | None:
        """The (prompt tokens, output tokens) the call was admitted for, None when nothing was
        reserved (no limit applies). The upstream is asked for no more output than that, and
        the call is billed for no more."""
        ...

    def settle(self, usage: Usage) -> None:
        """Charges what the call used, every kind of token at its price; returns at once, the
        accounting runs beside."""
        ...

    def release(self) -> None:
        """Charges nothing: the call used nothing."""
        ...


class Admission(Protocol):
    async def admit(
        self, caller: Caller, provider: str, model: str, estimate: Estimate
    ) -> Ticket: ...


class _Unlimited:
    headers: Mapping[str, str] = {}
    reserved: tuple[int, int] | None = None

    def settle(self, usage: Usage) -> None:
        return None

    def release(self) -> None:
        return None


UNLIMITED: Ticket = _Unlimited()


class AdmitEveryone:
    """No limits at all (tests of other parts, tools that run without billing)."""

    async def admit(self, caller: Caller, provider: str, model: str, estimate: Estimate) -> Ticket:
        return UNLIMITED
