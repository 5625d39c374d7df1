"""`routing`: how a request's model becomes the deployment that answers it."""

from __future__ import annotations

import msgspec

from infrastructure.settings.routing_policies import PolicyRule, check_rule_names


class RoutingSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Every key is optional; an empty `routing` section routes as the providers declare."""

    policies: list[PolicyRule] = msgspec.field(default_factory=list)
    """Ordered rules on who may send what where (docs/routing.md, Policies)."""

    def __post_init__(self) -> None:
        check_rule_names(self.policies)
