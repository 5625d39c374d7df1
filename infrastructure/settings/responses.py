"""`responses`: what `POST /v1/responses` stores, and for how long."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import SECONDS


class ResponsesSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    retention_days: Annotated[int, Meta(ge=1, le=3650)] = 30
    """How long a stored response (`store` true, the default) can be read, listed and continued
    from; then it is deleted."""
    sweep_every_seconds: Annotated[float, Meta(ge=1, le=86400, extra=SECONDS)] = 3600.0
    """How often each serving process deletes the responses past their retention (one past it
    is already not found before the sweep deletes it)."""
