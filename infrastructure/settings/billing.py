"""`billing`: how requests are reserved against budgets before the provider answers."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import SECONDS


class BillingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    unpriced: Literal["refuse", "tokens_only"] = "refuse"
    """A USD-budgeted request for a model without a price: refused, or served counting tokens
    against token budgets and $0 against USD budgets (recorded as unpriced)."""
    default_max_output_tokens: Annotated[int, Meta(ge=1)] = 4096
    """The output reserved for a request that sets no limit, on a model without one."""
    limits_reload_seconds: Annotated[float, Meta(ge=0.05, le=3600, extra=SECONDS)] = 2.0
    """How often each replica rereads budgets, rate limits and prices from the database (a
    change made through this replica applies at once)."""
