"""Routing policy rules: first match wins (a `continue` rule lets later ones apply), globs,
what the effects allow of a deployment, and no input that makes evaluation fail."""

from __future__ import annotations

import fnmatch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.providers.model import ModelRoute
from domains.providers.policy import (
    NO_DECISION,
    Effects,
    Globs,
    Match,
    Policies,
    PolicyDenied,
    RequestFacts,
    Rule,
    parse_tags,
)
from domains.shared.caller import Caller

OPENAI = ModelRoute("openai", "openai", "gpt-4o", "gpt-4o")
MINI = ModelRoute("openai", "openai", "gpt-4o-mini", "gpt-4o-mini")
CLAUDE = ModelRoute("anthropic", "anthropic", "claude-sonnet", "claude-sonnet-4")
LOCAL = ModelRoute("local", "openai-compatible", "llama3", "llama3:8b")


def facts(**fields: object) -> RequestFacts:
    base: dict[str, object] = {
        "org": "org-1",
        "team": "team-1",
        "key": "key-1",
        "user": None,
        "model": "gpt-4o",
    }
    base.update(fields)
    return RequestFacts(**base)  # type: ignore[arg-type]


def test_no_rule_is_no_decision_and_filters_nothing() -> None:
    decision = Policies().decide(facts())
    assert decision is NO_DECISION
    assert decision.rule is None
    assert decision.filter([OPENAI, CLAUDE]) == [OPENAI, CLAUDE]
    assert decision.model("gpt-4o") == "gpt-4o"


def test_the_first_matching_rule_decides_and_later_ones_are_not_applied() -> None:
    policies = Policies(
        [
            Rule("skip", Match(teams=frozenset({"other"})), Effects(max_tokens=1)),
            Rule("first", Match(teams=frozenset({"team-1"})), Effects(max_tokens=100)),
            Rule("second", Match(), Effects(max_tokens=10, force_model="llama3")),
        ]
    )
    decision = policies.decide(facts())
    assert decision.rules == ("first",)
    assert decision.max_tokens == 100
    assert decision.model("gpt-4o") == "gpt-4o"  # the second rule's force is not applied


def test_a_continue_rule_applies_with_the_rules_after_it() -> None:
    policies = Policies(
        [
            Rule("cap", Match(), Effects(max_tokens=50, force_model="a"), then_continue=True),
            Rule("deny", Match(), Effects(deny_providers=frozenset({"anthropic"}), max_tokens=80)),
            Rule("never", Match(), Effects(max_tokens=1)),
        ]
    )
    decision = policies.decide(facts())
    assert decision.rules == ("cap", "deny")
    assert decision.max_tokens == 50  # the smallest cap
    assert decision.model("gpt-4o") == "a"  # the first force met
    assert decision.filter([CLAUDE, OPENAI]) == [OPENAI]
    with pytest.raises(PolicyDenied) as denied:
        decision.check(CLAUDE)
    assert denied.value.rule == "deny"
    assert "`deny`" in denied.value.message
    assert "anthropic/claude-sonnet" in denied.value.message
    assert denied.value.code == "policy_denied"


def test_every_match_field_must_match_and_any_of_its_values_does() -> None:
    rule = Rule(
        "r",
        Match(
            orgs=frozenset({"org-1"}),
            teams=frozenset({"team-1", "team-2"}),
            tags=frozenset({"pii", "eu"}),
            models=("gpt-4*",),
        ),
        Effects(max_tokens=5),
    )
    policies = Policies([rule])
    assert policies.decide(facts(tags=frozenset({"eu", "other"}))).rule == "r"
    assert policies.decide(facts(team="team-2", tags=frozenset({"pii"}))).rule == "r"
    assert policies.decide(facts(tags=frozenset())).rule is None  # no tag carried
    assert policies.decide(facts(tags=frozenset({"pii"}), org="org-2")).rule is None
    assert policies.decide(facts(tags=frozenset({"pii"}), model="claude-3")).rule is None


def test_ids_users_and_keys_match_exactly() -> None:
    policies = Policies(
        [
            Rule("by-key", Match(keys=frozenset({"key-9"})), Effects(max_tokens=1)),
            Rule("by-user", Match(users=frozenset({"u-1"})), Effects(max_tokens=2)),
        ]
    )
    assert policies.decide(facts(key="key-9")).rule == "by-key"
    assert policies.decide(facts(key="key-99")).rule is None
    assert policies.decide(facts(user="u-1")).rule == "by-user"
    assert policies.decide(facts(user=None)).rule is None


def test_a_tier_rule_matches_only_a_request_that_has_that_tier() -> None:
    policies = Policies([Rule("hard", Match(tiers=frozenset({"COMPLEX"})), Effects(max_tokens=9))])
    assert policies.decide(facts(tier="COMPLEX")).rule == "hard"
    assert policies.decide(facts(tier="SIMPLE")).rule is None
    assert policies.decide(facts()).rule is None


def test_allow_and_deny_models_are_globs_on_the_name_or_the_qualified_name() -> None:
    allow = Policies([Rule("mini-only", effects=Effects(allow_models=("*-mini",)))]).decide(facts())
    assert allow.filter([OPENAI, MINI, CLAUDE]) == [MINI]
    qualified = Policies([Rule("q", effects=Effects(deny_models=("openai/*",)))]).decide(facts())
    assert qualified.filter([OPENAI, MINI, CLAUDE, LOCAL]) == [CLAUDE, LOCAL]
    providers = Policies(
        [Rule("p", effects=Effects(allow_providers=frozenset({"local", "anthropic"})))]
    ).decide(facts())
    assert providers.filter([OPENAI, CLAUDE, LOCAL]) == [CLAUDE, LOCAL]


def test_a_pin_keeps_only_self_hosted_deployments() -> None:
    decision = Policies([Rule("pii", effects=Effects(pin="self_hosted"))]).decide(facts())
    assert decision.filter([OPENAI, LOCAL, CLAUDE]) == [LOCAL]
    with pytest.raises(PolicyDenied, match="pinned to self-hosted"):
        decision.check(OPENAI)


def test_none_left_names_the_rule_that_refused_the_first_deployment() -> None:
    decision = Policies(
        [
            Rule(
                "no-openai",
                effects=Effects(deny_providers=frozenset({"openai"})),
                then_continue=True,
            ),
            Rule("no-claude", effects=Effects(deny_models=("claude-*",))),
        ]
    ).decide(facts())
    with pytest.raises(PolicyDenied) as denied:
        decision.filter([CLAUDE, OPENAI])
    assert denied.value.rule == "no-claude"


def test_the_caller_facts_carry_its_ids_and_tags() -> None:
    caller = Caller(
        key_id="key-1", key_prefix="fr-x", team_id="team-1", org_id="org-1", tags=("pii",)
    )
    policies = Policies([Rule("pii", Match(tags=frozenset({"pii"})), Effects(pin="self_hosted"))])
    assert policies.decide_for(caller, "gpt-4o").rule == "pii"
    assert Policies().decide_for(caller, "gpt-4o") is NO_DECISION


@pytest.mark.parametrize(
    ("header", "tags"),
    [
        (None, ()),
        ("", ()),
        ("pii", ("pii",)),
        (" pii , eu,,pii ", ("pii", "eu")),
        ("x" * 65 + ",ok", ("ok",)),
    ],
)
def test_tags_header_parsing(header: str | None, tags: tuple[str, ...]) -> None:
    assert parse_tags(header) == tags


@given(st.text(max_size=400))
def test_tags_parsing_never_fails_and_is_bounded(header: str) -> None:
    tags = parse_tags(header)
    assert len(tags) <= 32
    assert all(tag and tag == tag.strip() and len(tag) <= 64 for tag in tags)
    assert len(set(tags)) == len(tags)


GLOB = st.text(alphabet="ab*?[]!-/.", max_size=8)
NAME = st.text(alphabet="ab-/.[]", max_size=10)


@given(st.lists(GLOB, min_size=1, max_size=4), NAME)
def test_globs_match_as_fnmatch_does(patterns: list[str], name: str) -> None:
    expected = any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
    assert Globs(patterns).match(name) is expected


IDS = st.sampled_from(["a", "b", "c"])
MATCHES = st.builds(
    Match,
    orgs=st.frozensets(IDS, max_size=2),
    teams=st.frozensets(IDS, max_size=2),
    tags=st.frozensets(IDS, max_size=2),
    models=st.lists(GLOB, max_size=2).map(tuple),
    tiers=st.frozensets(IDS, max_size=1),
)
EFFECTS = st.builds(
    Effects,
    deny_providers=st.frozensets(st.sampled_from(["openai", "local"]), max_size=1),
    deny_models=st.lists(GLOB, max_size=2).map(tuple),
    pin=st.sampled_from([None, "self_hosted"]),
    max_tokens=st.one_of(st.none(), st.integers(1, 1000)),
    force_model=st.one_of(st.none(), NAME),
)
RULES = st.lists(
    st.builds(
        Rule,
        name=st.text(min_size=1, max_size=5),
        match=MATCHES,
        effects=EFFECTS,
        then_continue=st.booleans(),
    ),
    max_size=6,
)
FACTS = st.builds(
    RequestFacts,
    org=IDS,
    team=IDS,
    key=IDS,
    user=st.one_of(st.none(), IDS),
    model=NAME,
    tags=st.frozensets(IDS, max_size=3),
    tier=st.one_of(st.none(), IDS),
)


@given(RULES, FACTS)
def test_evaluation_is_first_match_wins_and_never_fails(
    rules: list[Rule], request: RequestFacts
) -> None:
    decision = Policies(rules).decide(request)
    # what the rules say, read one by one: applied until the first that does not continue
    applied: list[Rule] = []
    for rule in rules:
        matched = (
            (not rule.match.orgs or request.org in rule.match.orgs)
            and (not rule.match.teams or request.team in rule.match.teams)
            and (not rule.match.tags or bool(rule.match.tags & request.tags))
            and (not rule.match.tiers or request.tier in rule.match.tiers)
            and (
                not rule.match.models
                or any(fnmatch.fnmatchcase(request.model, p) for p in rule.match.models)
            )
        )
        if matched:
            applied.append(rule)
            if not rule.then_continue:
                break
    expected = [rule.name for rule in applied]
    assert list(decision.rules) == expected
    caps = [rule.effects.max_tokens for rule in applied if rule.effects.max_tokens]
    assert decision.max_tokens == (min(caps) if caps else None)
    forced = [rule.effects.force_model for rule in applied if rule.effects.force_model]
    assert decision.model("asked") == (forced[0] if forced else "asked")
    routes = [OPENAI, LOCAL]
    refusals = [decision.refusal(route) for route in routes]
    assert all(refused is None or refused[0] in expected for refused in refusals)
    kept = [route for route, refused in zip(routes, refusals, strict=True) if refused is None]
    if kept:
        assert decision.filter(routes) == kept
    else:
        with pytest.raises(PolicyDenied) as denied:
            decision.filter(routes)
        assert refusals[0] is not None
        assert denied.value.rule == refusals[0][0]


def test_a_decision_is_made_once_for_what_it_is_made_of() -> None:
    rules = [
        Rule("pii", Match(tags=frozenset({"pii"})), Effects(pin="self_hosted")),
        Rule("mini", Match(models=("gpt-4o*",)), Effects(deny_models=("gpt-4o-mini",))),
    ]
    policies = Policies(rules)

    def caller(tags: tuple[str, ...] = (), team: str = "team-1") -> Caller:
        return Caller(key_id="key-1", key_prefix="fr-x", team_id=team, org_id="org-1", tags=tags)

    first = policies.decide_for(caller(), "gpt-4o")
    assert policies.decide_for(caller(), "gpt-4o") is first  # the same facts: kept
    assert first.rule == "mini"
    # any fact that differs is decided anew, as evaluating the rules says
    for other, model in [(caller(("pii",)), "gpt-4o"), (caller(team="t2"), "o1"), (caller(), "x")]:
        decided = policies.decide_for(other, model)
        assert decided is not first
        fresh = policies.decide(facts(team=other.team_id, model=model, tags=frozenset(other.tags)))
        assert decided.rules == fresh.rules
    # what a kept decision says of a deployment is what evaluating says, asked again or not
    assert first.refusal(MINI) == first.refusal(MINI) == ("mini", "the model is denied")
    assert first.refusal(OPENAI) is None
    assert first.filter([MINI, OPENAI, LOCAL]) == [OPENAI, LOCAL]
