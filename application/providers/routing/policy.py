"""The routing settings as the router reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from domains.providers.routing.breaker import BreakerPolicy
from domains.providers.routing.selection import Strategy


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    strategy: Strategy = "weighted"
    strategies: Mapping[str, Strategy] = field(default_factory=dict)
    retries: int = 2
    backoff_base: float = 0.25
    backoff_max: float = 8.0
    retry_after_max: float = 5.0
    deadline: float = 600.0
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    context_window_fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    content_policy_fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """The models tried, in order, when a model refuses a request for its content."""
    stream_idle: Mapping[str, float] = field(default_factory=dict)
    """Seconds without a chunk after which a provider's stream is ended, by provider."""
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
