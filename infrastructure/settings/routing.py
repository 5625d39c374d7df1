"""`routing`: how a request's model becomes the deployment that answers it."""

from __future__ import annotations

import msgspec

from infrastructure.settings.routing_policies import PolicyRule, check_rule_names
from infrastructure.settings.routing_virtual import (
    Share,
    Target,
    TierSettings,
    VirtualModelSettings,
    VirtualName,
)


class RoutingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Every key is optional; an empty `routing` section routes as the providers declare."""

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
        check_rule_names(self.policies)
