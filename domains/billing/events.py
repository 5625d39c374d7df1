"""What the billing context tells the others."""

from __future__ import annotations

from decimal import Decimal

from domains.shared.events import Event


class UsageRecorded(Event, frozen=True, kw_only=True, tag=True):
    """A call's usage was written down with its cost. `priced` is False for an unpriced model."""

    usage_id: str
    source_event_id: str
    request_id: str
    org_id: str
    team_id: str
    user_id: str | None
    key_id: str
    provider: str
    model: str
    endpoint: str
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: Decimal
    priced: bool
