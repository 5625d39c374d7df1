"""`routing`: how a request's model becomes the deployment that answers it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from infrastructure.settings.routing_policies import PolicyRule, check_rule_names
from infrastructure.settings.routing_probes import HealthProbeSettings
from infrastructure.settings.routing_resilience import CircuitBreakerSettings, Seconds
from infrastructure.settings.routing_virtual import (
    Share,
    Target,
    TierSettings,
    VirtualModelSettings,
    VirtualName,
)
from infrastructure.settings.rules import Invalid

Strategy = Literal["weighted", "least-busy", "latency", "cost"]
ModelName = Annotated[str, Meta(pattern=r"\S", extra={"message": "must not be empty"})]


class RoutingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Every key is optional; an empty `routing` section routes as the providers declare."""

    strategy: Strategy = "weighted"
    strategies: dict[ModelName, Strategy] = msgspec.field(default_factory=dict)
    retries: Annotated[int, Meta(ge=0, le=20)] = 2
    backoff_base_seconds: Annotated[float, Meta(ge=0, le=60)] = 0.25
    backoff_max_seconds: Annotated[float, Meta(ge=0, le=600)] = 8.0
    retry_after_max_seconds: Annotated[float, Meta(ge=0, le=600)] = 5.0
    deadline_seconds: Seconds = 600.0
    fallbacks: dict[ModelName, list[ModelName]] = msgspec.field(default_factory=dict)
    context_window_fallbacks: dict[ModelName, list[ModelName]] = msgspec.field(default_factory=dict)
    content_policy_fallbacks: dict[ModelName, list[ModelName]] = msgspec.field(default_factory=dict)
    """The models that answer, in order, when a model refuses a request for its content."""
    stream_idle_timeout: Seconds | None = None
    circuit_breaker: CircuitBreakerSettings = msgspec.field(default_factory=CircuitBreakerSettings)
    shared_state_seconds: Annotated[float, Meta(ge=0.05, le=60)] = 0.5
    health_probes: HealthProbeSettings = msgspec.field(default_factory=HealthProbeSettings)
    """Active health probes of every deployment (off unless `enabled`)."""

    policies: list[PolicyRule] = msgspec.field(default_factory=list)
    """Ordered rules on who may send what where (docs/routing.md, Policies)."""

    # virtual models and tiers (infrastructure.settings.routing_virtual, docs/routing.md)
    builtin_virtual_models: bool = True
    virtual_models: dict[VirtualName, VirtualModelSettings] = msgspec.field(default_factory=dict)
    tiers: TierSettings = msgspec.field(default_factory=TierSettings)
    quality: dict[Target, Share] = msgspec.field(default_factory=dict)
    never_virtual: list[Target] = msgspec.field(default_factory=list)
    local_share: Share = 0.7

    def __post_init__(self) -> None:
        if self.backoff_max_seconds < self.backoff_base_seconds:
            raise Invalid("backoff_max_seconds", "must not be below backoff_base_seconds")
        check_rule_names(self.policies)


def check_routing_models(
    routing: RoutingSettings, declared: Sequence[str], wildcards: Sequence[str] = ()
) -> None:
    """Every model the routing names is declared by some provider (a bare `name` or a
    `provider/name`), or reached through a provider's wildcard (`provider/<any name>`, for the
    providers in `wildcards`)."""
    known = set(declared)
    wild = set(wildcards)
    for section, table in (
        ("strategies", {name: [] for name in routing.strategies}),
        ("fallbacks", routing.fallbacks),
        ("context_window_fallbacks", routing.context_window_fallbacks),
        ("content_policy_fallbacks", routing.content_policy_fallbacks),
    ):
        for model, others in table.items():
            for name in (model, *others):
                if name not in known and name.partition("/")[0] not in wild:
                    raise Invalid(
                        f"routing.{section}",
                        f"names the model `{name}`, which no provider declares",
                    )
            if model in others:
                raise Invalid(f"routing.{section}.{model}", "must not fall back to itself")
    for name in routing.health_probes.models:
        if name not in known and name.partition("/")[0] not in wild:
            raise Invalid(
                "routing.health_probes.models",
                f"names the model `{name}`, which no provider declares",
            )
