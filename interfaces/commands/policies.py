"""`fluxrouter policies test`: which routing policy rule a sample request meets, what its
effects are, and where the request would go (or why it is refused), from the configuration
file alone (no database, no upstream)."""

from __future__ import annotations

import argparse

from domains.providers.errors import ModelNotAllowed, UnknownModel
from domains.providers.policy import Decision, Effects, PolicyDenied, parse_tags
from domains.shared.caller import Caller
from infrastructure.adapters.providers.factory import build_catalog
from infrastructure.settings import Settings
from infrastructure.settings.routing_policies import build_policies

ALLOWED, REFUSED = 0, 1


def test_request(args: argparse.Namespace, settings: Settings) -> int:
    """Prints the decision; 0 when the request would be routed, 1 when it would be refused."""
    caller = Caller(
        key_id=args.key or "",
        key_prefix="",
        team_id=args.team or "",
        org_id=args.org or "",
        user_id=args.user,
        tags=parse_tags(args.tags),
    )
    policies = build_policies(settings.routing.policies)
    decision = policies.decide_for(caller, args.model, args.tier)
    print(f"rules configured: {len(policies.names)}")
    if decision.rule is None:
        print("rule: none matches (the request routes as the providers declare)")
    else:
        print(f"rule: {decision.rule}")
        for name, effects in zip(decision.rules, decision.effects, strict=True):
            if name != decision.rule:
                print(f"also applies: {name}")
            for line in _effect_lines(effects):
                print(f"  {name}: {line}")
    model = decision.model(args.model)
    print(f"model: {model}" + (f" (forced; asked for {args.model})" if model != args.model else ""))
    return _outcome(settings, decision, caller, args.model)


def _outcome(settings: Settings, decision: Decision, caller: Caller, requested: str) -> int:
    try:
        route = build_catalog(settings.providers).resolve(decision.model(requested))
        decision.check(route)
    except (UnknownModel, ModelNotAllowed, PolicyDenied) as refused:
        status = 403 if isinstance(refused, (PolicyDenied, ModelNotAllowed)) else 404
        print(f"outcome: refused, {status} {refused.code}: {refused.message}")
        return REFUSED
    how = " (wildcard)" if route.wildcard else ""
    print(f"route: {route.qualified_name}{how} → upstream model {route.upstream} ({route.kind})")
    if decision.max_tokens is not None:
        print(f"max_tokens: at most {decision.max_tokens} output tokens")
    print("outcome: allowed")
    return ALLOWED


def _effect_lines(effects: Effects) -> list[str]:
    lines = []
    if effects.allow_providers is not None:
        lines.append(f"allow_providers: {', '.join(sorted(effects.allow_providers))}")
    if effects.deny_providers:
        lines.append(f"deny_providers: {', '.join(sorted(effects.deny_providers))}")
    if effects.allow_models is not None:
        lines.append(f"allow_models: {', '.join(effects.allow_models)}")
    if effects.deny_models:
        lines.append(f"deny_models: {', '.join(effects.deny_models)}")
    if effects.pin is not None:
        lines.append(f"pin: {effects.pin}")
    if effects.max_tokens is not None:
        lines.append(f"max_tokens: {effects.max_tokens}")
    if effects.force_model is not None:
        lines.append(f"force_model: {effects.force_model}")
    return lines or ["(no effects)"]
