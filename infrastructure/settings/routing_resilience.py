"""`routing.circuit_breaker`: when a deployment is taken out of rotation, and for how long."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from infrastructure.settings.rules import FINITE, SECONDS

Seconds = Annotated[float, Meta(gt=0, le=FINITE, extra=SECONDS)]


class CircuitBreakerSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A deployment's circuit opens after `consecutive_failures` failures in a row, or once at
    least `min_requests` calls in the last `window_seconds` failed at `error_rate` or more; it
    stays open `cooldown_seconds`, then lets one probe call through (half-open): its success
    closes the circuit, its failure opens it again."""

    enabled: bool = True
    consecutive_failures: Annotated[int, Meta(ge=1, le=10_000)] = 5
    error_rate: Annotated[float, Meta(ge=0.01, le=1)] = 0.5
    min_requests: Annotated[int, Meta(ge=1, le=1_000_000)] = 20
    window_seconds: Seconds = 60.0
    cooldown_seconds: Seconds = 30.0
