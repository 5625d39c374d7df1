"""`routing.policies` and the wildcard model `*` in the configuration file: what is read, and
the errors naming the key."""

from __future__ import annotations

import textwrap
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.providers.policy import RequestFacts
from infrastructure.settings import ConfigError, Settings, load_settings
from infrastructure.settings.routing import RoutingSettings
from infrastructure.settings.routing_policies import build_policies

PROVIDERS = """
providers:
  - name: openai
    kind: openai
    base_url: https://api.example/v1
    models: [{name: gpt-4o}, {name: "*", price: {input_per_mtok: 1, output_per_mtok: 2}}]
  - name: local
    kind: openai-compatible
    base_url: http://127.0.0.1:8000/v1
    models: [{name: llama3}]
"""


def load(directory: Path, text: str) -> Settings:
    (directory / "fluxrouter.yaml").write_text(PROVIDERS + textwrap.dedent(text), encoding="utf-8")
    return load_settings(None, {}, directory)[0]


def error(directory: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(directory, text)
    return str(caught.value)


def test_no_policies_by_default(tmp_path: Path) -> None:
    assert load(tmp_path, "").routing.policies == []
    assert not build_policies([])


def test_rules_are_read_in_order_with_one_value_or_a_list(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        """
        routing:
          policies:
            - name: pii
              match: {tags: pii, team: [t1, t2]}
              effects: {pin: self_hosted, max_tokens: 100}
              continue: true
            - name: interns
              match: {model: "gpt-4*"}
              effects: {force_model: llama3, deny_providers: [openai], allow_models: ["*"]}
        """,
    )
    first, second = settings.routing.policies
    assert (first.name, first.then_continue, first.match.team) == ("pii", True, ["t1", "t2"])
    assert (second.name, second.then_continue) == ("interns", False)
    policies = build_policies(settings.routing.policies)
    facts = RequestFacts(
        org="o", team="t2", key="k", user=None, model="gpt-4o", tags=frozenset({"pii"})
    )
    decision = policies.decide(facts)
    assert decision.rules == ("pii", "interns")
    assert (decision.max_tokens, decision.model("gpt-4o")) == (100, "llama3")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("routing: {policies: [{name: a}, {name: a}]}", "duplicate rule name"),
        ("routing: {policies: [{name: 'a b'}]}", "routing.policies[0].name"),
        ("routing: {policies: [{name: a, match: {team: []}}]}", "must not be an empty list"),
        ("routing: {policies: [{name: a, match: {colour: red}}]}", "colour"),
        ("routing: {policies: [{name: a, match: {model: '[a'}}]}", None),
        ("routing: {policies: [{name: a, effects: {pin: cloud}}]}", "pin"),
        ("routing: {policies: [{name: a, effects: {max_tokens: 0}}]}", "max_tokens"),
        (
            "routing: {policies: [{name: a, effects: {deny_providers: [opneai]}}]}",
            "routing.policies[0].effects.deny_providers",
        ),
    ],
)
def test_a_bad_rule_is_an_error_naming_its_key(
    tmp_path: Path, text: str, message: str | None
) -> None:
    if message is None:  # an unbalanced `[` is a literal in fnmatch: accepted, matches itself
        policies = build_policies(load(tmp_path, text).routing.policies)
        facts = RequestFacts(org="o", team="t", key="k", user=None, model="[a")
        assert policies.decide(facts).rule == "a"
        return
    assert message in error(tmp_path, text)


def test_a_wildcard_model_takes_no_upstream_and_star_is_only_a_whole_name(tmp_path: Path) -> None:
    base = "providers:\n  - {name: p, kind: openai, base_url: 'http://x', models: [%s]}\n"
    for models, message in [
        ("{name: '*', upstream: gpt}", "models[0].upstream"),
        ("{name: 'gpt-*'}", "models[0].name"),
    ]:
        (tmp_path / "fluxrouter.yaml").write_text(base % models, encoding="utf-8")
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_settings(None, {}, tmp_path)


KEYS = ("name", "match", "effects", "continue", "team", "tags", "model", "pin", "max_tokens")
KEYS += ("deny_models", "allow_providers", "force_model", "tier", "x")
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", " ", "a", "*", "[a"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=12,
)
RULE = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b", "a b", ""])},
    optional={"match": JSONISH, "effects": JSONISH, "continue": JSONISH},
)


@given(st.lists(RULE | JSONISH, max_size=3))
def test_any_policies_value_is_read_or_refused_with_a_validation_error(value: object) -> None:
    try:
        routing = msgspec.convert({"policies": value}, RoutingSettings)
    except msgspec.ValidationError:
        return
    names = [rule.name for rule in routing.policies]
    assert len(set(names)) == len(names)
    assert all(name in ("a", "b") for name in names)
    policies = build_policies(routing.policies)
    facts = RequestFacts(org="o", team="a", key="k", user=None, model="a", tags=frozenset({"a"}))
    decided = policies.decide(facts).rules
    assert set(decided) <= set(names)
    assert list(decided) == [name for name in names if name in decided]  # in the rules' order
