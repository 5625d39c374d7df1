"""`routing.policies`: the operator's ordered routing rules (`domains.providers.policy`)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from domains.providers.policy import Effects, Match, Policies, Rule
from infrastructure.settings.rules import Invalid, NotBlank, check_unique, quote

Names = str | list[NotBlank]
"""One value, or a list of them (any one matches)."""
RuleName = Annotated[
    str,
    Meta(
        pattern=r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z",
        extra={"message": "must match [A-Za-z0-9][A-Za-z0-9._-]*, at most 64 characters"},
    ),
]


def _listed(value: Names | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class PolicyMatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """What a request must be for the rule to apply; every field given must match (any of its
    values), a field left out matches anything."""

    org: Names | None = None
    team: Names | None = None
    key: Names | None = None
    user: Names | None = None
    tags: Names | None = None
    model: Names | None = None  # globs on the model as the client named it
    tier: Names | None = None

    def __post_init__(self) -> None:
        for name in ("org", "team", "key", "user", "tags", "model", "tier"):
            value = getattr(self, name)
            if isinstance(value, str) and not value.strip():
                raise Invalid(name, "must not be empty")
            if isinstance(value, list) and not value:
                raise Invalid(name, "must not be an empty list (leave it out to match anything)")


class PolicyEffects(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    allow_providers: list[NotBlank] | None = None
    deny_providers: list[NotBlank] = msgspec.field(default_factory=list)
    allow_models: list[NotBlank] | None = None  # globs on `name` or `provider/name`
    deny_models: list[NotBlank] = msgspec.field(default_factory=list)
    pin: Literal["self_hosted"] | None = None
    max_tokens: Annotated[int, Meta(ge=1, le=2**31 - 1)] | None = None
    force_model: NotBlank | None = None


class PolicyRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    name: RuleName
    match: PolicyMatch = msgspec.field(default_factory=PolicyMatch)
    effects: PolicyEffects = msgspec.field(default_factory=PolicyEffects)
    then_continue: bool = msgspec.field(default=False, name="continue")
    """Also apply the rules after this one (by default the first rule met decides)."""


def check_rule_names(rules: list[PolicyRule]) -> None:
    check_unique("policies[{}].name", [rule.name for rule in rules], "rule name")


def check_policy_providers(rules: list[PolicyRule], providers: list[str]) -> None:
    """Every provider a rule names is declared (a typo would silently allow or deny nothing)."""
    known = set(providers)
    for index, rule in enumerate(rules):
        for field in ("allow_providers", "deny_providers"):
            for name in getattr(rule.effects, field) or []:
                if name not in known:
                    raise Invalid(
                        f"routing.policies[{index}].effects.{field}",
                        f"names no provider of `providers`: {quote(name)}",
                    )


def domain_rule(rule: PolicyRule) -> Rule:
    """The domain's rule for the configured one."""
    match, effects = rule.match, rule.effects
    return Rule(
        name=rule.name,
        match=Match(
            orgs=frozenset(_listed(match.org)),
            teams=frozenset(_listed(match.team)),
            keys=frozenset(_listed(match.key)),
            users=frozenset(_listed(match.user)),
            tags=frozenset(_listed(match.tags)),
            models=tuple(_listed(match.model)),
            tiers=frozenset(_listed(match.tier)),
        ),
        effects=Effects(
            allow_providers=None
            if effects.allow_providers is None
            else frozenset(effects.allow_providers),
            deny_providers=frozenset(effects.deny_providers),
            allow_models=None if effects.allow_models is None else tuple(effects.allow_models),
            deny_models=tuple(effects.deny_models),
            pin=effects.pin,
            max_tokens=effects.max_tokens,
            force_model=effects.force_model,
        ),
        then_continue=rule.then_continue,
    )


def build_policies(rules: list[PolicyRule]) -> Policies:
    """The configured rules, compiled for the pipeline."""
    return Policies(domain_rule(rule) for rule in rules)
