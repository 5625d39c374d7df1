"""Policy as code: the operator's ordered rules, each a `match` on who calls and what model they
ask for, and `effects` on where the call may go.

Evaluation is first match wins, as a firewall's rules are read: the rules are tried in their
order and the first whose `match` the request meets decides. A rule that says `continue: true`
applies and lets the rules after it apply too (a baseline cap for everyone below an exception
for one team): then every applied rule's restrictions hold together (each rule's allow and deny
lists, the smallest `max_tokens`, a pin from any), and the first `force_model` met wins.
A request that meets no rule goes as the catalog routes it.

A rule's effects filter the deployments a model may be served by (`Decision.filter`); when none
is left, the request is refused with `PolicyDenied` (a 403 in every dialect) naming the first
rule that refused it. Globs (`*`, `?`, `[...]`, as in a shell, case-sensitive) are compiled
once: deciding costs a few microseconds.

A little over 300 lines on purpose: a rule's shape, its compiled form and how the rules decide
together are one language, read from top to bottom.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from domains.providers.model import ModelRoute
from domains.shared.caller import Caller
from domains.shared.errors import Forbidden

SELF_HOSTED_KINDS = frozenset({"openai-compatible"})
"""The provider kinds a `pin: self_hosted` rule keeps a request on: servers the operator runs
(vLLM, Ollama, TGI... speak the OpenAI-compatible API), so the data never leaves."""

MAX_TAGS = 32
MAX_TAG_LENGTH = 64


class PolicyDenied(Forbidden):
    code = "policy_denied"

    def __init__(self, rule: str, model: str, reason: str) -> None:
        super().__init__(
            f"The routing policy rule `{rule}` does not allow this request to use the model "
            f"`{model}`: {reason}."
        )
        self.rule = rule


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What a rule may match on: who calls (ids, the tags the request carries), the model they
    asked for, and the complexity tier when the request has one (the `auto` virtual model)."""

    org: str
    team: str
    key: str
    user: str | None
    model: str
    tags: frozenset[str] = frozenset()
    tier: str | None = None


def parse_tags(header: str | None) -> tuple[str, ...]:
    """The tags of an `x-fluxrouter-tags` header: comma separated, trimmed, empty ones dropped,
    each at most `MAX_TAG_LENGTH` characters and `MAX_TAGS` of them (the rest ignored)."""
    if not header:
        return ()
    tags: list[str] = []
    for part in header.split(",", MAX_TAGS):
        tag = part.strip()
        if tag and len(tag) <= MAX_TAG_LENGTH and tag not in tags:
            tags.append(tag)
        if len(tags) == MAX_TAGS:
            break
    return tuple(tags)


class Globs:
    """Shell-style patterns, compiled into one regular expression."""

    __slots__ = ("_regex", "patterns")

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        joined = "|".join(f"(?:{fnmatch.translate(p)})" for p in self.patterns)
        self._regex = re.compile(joined, re.DOTALL) if self.patterns else None

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, *names: str) -> bool:
        regex = self._regex
        return regex is not None and any(regex.match(name) for name in names)


@dataclass(frozen=True, slots=True)
class Match:
    """Each field names what it matches (any one of them); an empty field matches anything;
    a rule matches when every field it sets does. `tags`: the request carries at least one of
    them. `models`: globs on the model as the client named it. `tiers`: only a request that has
    a tier (the `auto` virtual model's) matches a rule that names tiers."""

    orgs: frozenset[str] = frozenset()
    teams: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    models: tuple[str, ...] = ()
    tiers: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Effects:
    allow_providers: frozenset[str] | None = None  # None: any provider
    deny_providers: frozenset[str] = frozenset()
    allow_models: tuple[str, ...] | None = None  # globs; None: any model
    deny_models: tuple[str, ...] = ()
    pin: Literal["self_hosted"] | None = None
    max_tokens: int | None = None
    force_model: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    match: Match = field(default_factory=Match)
    effects: Effects = field(default_factory=Effects)
    then_continue: bool = False


class _Compiled:
    """A rule with its globs compiled."""

    __slots__ = ("_allow_models", "_deny_models", "_match_models", "name", "rule")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.name = rule.name
        self._match_models = Globs(rule.match.models)
        allow = rule.effects.allow_models
        self._allow_models = Globs(allow) if allow is not None else None
        self._deny_models = Globs(rule.effects.deny_models)

    def matches(self, facts: RequestFacts) -> bool:
        match = self.rule.match
        if match.orgs and facts.org not in match.orgs:
            return False
        if match.teams and facts.team not in match.teams:
            return False
        if match.keys and facts.key not in match.keys:
            return False
        if match.users and facts.user not in match.users:
            return False
        if match.tags and match.tags.isdisjoint(facts.tags):
            return False
        if match.tiers and facts.tier not in match.tiers:
            return False
        return not self._match_models or self._match_models.match(facts.model)

    def refusal(self, route: ModelRoute) -> str | None:
        """Why this rule keeps `route` from serving the request; None if it lets it."""
        effects = self.rule.effects
        if effects.allow_providers is not None and route.provider not in effects.allow_providers:
            return f"the provider `{route.provider}` is not among those allowed"
        if route.provider in effects.deny_providers:
            return f"the provider `{route.provider}` is denied"
        names = (route.name, route.qualified_name)
        if self._allow_models is not None and not self._allow_models.match(*names):
            return "the model is not among those allowed"
        if self._deny_models.match(*names):
            return "the model is denied"
        if effects.pin == "self_hosted" and route.kind not in SELF_HOSTED_KINDS:
            return "the request is pinned to self-hosted models"
        return None


class Decision:
    """The rules a request met (first match wins; those with `continue` let later ones apply
    too), and what they say of it."""

    __slots__ = ("_applied", "_refused", "force_model", "max_tokens", "rules")

    def __init__(self, applied: Sequence[_Compiled] = ()) -> None:
        self._applied = tuple(applied)
        self._refused: dict[tuple[str, str, str], tuple[str, str] | None] = {}
        """(provider, kind, name) → what `refusal` said of that deployment: a decision is
        kept for the requests that meet it again (`Policies.decide_for`)."""
        self.rules: tuple[str, ...] = tuple(rule.name for rule in self._applied)
        forced = [r.rule.effects.force_model for r in self._applied if r.rule.effects.force_model]
        self.force_model: str | None = forced[0] if forced else None
        caps = [r.rule.effects.max_tokens for r in self._applied if r.rule.effects.max_tokens]
        self.max_tokens: int | None = min(caps) if caps else None

    @property
    def rule(self) -> str | None:
        """The rule that decided (the first met), or None when no rule applies."""
        return self.rules[0] if self.rules else None

    @property
    def effects(self) -> tuple[Effects, ...]:
        return tuple(rule.rule.effects for rule in self._applied)

    def model(self, requested: str) -> str:
        """The model to route: the one a rule forces, else the one requested."""
        return self.force_model if self.force_model is not None else requested

    def refusal(self, route: ModelRoute) -> tuple[str, str] | None:
        """(the rule, why) when a rule keeps `route` from serving this request."""
        seen = (route.provider, route.kind, route.name)
        if seen in self._refused:
            return self._refused[seen]
        said: tuple[str, str] | None = None
        for rule in self._applied:
            reason = rule.refusal(route)
            if reason is not None:
                said = rule.name, reason
                break
        if len(self._refused) < _MOST_KEPT:
            self._refused[seen] = said
        return said

    def filter(self, routes: Sequence[ModelRoute]) -> list[ModelRoute]:
        """The deployments the rules let serve the request, in their order; none left is a
        `PolicyDenied` naming the rule that refused the first of them."""
        if not self._applied:
            return list(routes)
        kept: list[ModelRoute] = []
        first: tuple[str, str, str] | None = None
        for route in routes:
            refused = self.refusal(route)
            if refused is None:
                kept.append(route)
            elif first is None:
                first = (refused[0], route.qualified_name, refused[1])
        if not kept and first is not None:
            raise PolicyDenied(*first)
        return kept

    def check(self, route: ModelRoute) -> ModelRoute:
        """`route` if the rules let it serve the request, else `PolicyDenied`."""
        self.filter((route,))
        return route


NO_DECISION = Decision()
_MOST_KEPT = 4096
"""Decisions `Policies` keeps, and deployments a decision keeps what it said of."""


class Policies:
    """The ordered rules, compiled once; `decide` evaluates them for one request."""

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._rules = tuple(_Compiled(rule) for rule in rules)
        self._decided: dict[tuple[Any, ...], Decision] = {}
        """The decisions made, by what they were made of: the same caller asking for the same
        model with the same tags meets the same rules, so they are evaluated once."""

    def __bool__(self) -> bool:
        return bool(self._rules)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self._rules)

    def decide(self, facts: RequestFacts) -> Decision:
        applied: list[_Compiled] = []
        for rule in self._rules:
            if rule.matches(facts):
                applied.append(rule)
                if not rule.rule.then_continue:
                    break
        return Decision(applied) if applied else NO_DECISION

    def decide_for(self, caller: Caller, model: str, tier: str | None = None) -> Decision:
        """The decision for `caller` asking for `model` (at `tier`, when it has one)."""
        if not self._rules:
            return NO_DECISION
        seen = (
            caller.org_id,
            caller.team_id,
            caller.key_id,
            caller.user_id,
            model,
            caller.tags,
            tier,
        )
        known = self._decided.get(seen)
        if known is not None:
            return known
        facts = RequestFacts(
            org=caller.org_id,
            team=caller.team_id,
            key=caller.key_id,
            user=caller.user_id,
            model=model,
            tags=frozenset(caller.tags),
            tier=tier,
        )
        decision = self.decide(facts)
        if len(self._decided) >= _MOST_KEPT:
            self._decided.clear()  # many callers or models: start again rather than grow
        self._decided[seen] = decision
        return decision


NO_POLICIES = Policies()
