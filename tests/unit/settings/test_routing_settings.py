"""`routing`'s virtual models and tiers as the loader reads them: the defaults, and a clear
one-line error for each rule across `routing` and `providers`."""

from __future__ import annotations

from pathlib import Path

import pytest

from domains.providers.config_change import changes
from infrastructure.settings import Settings
from infrastructure.settings.routing_virtual import BUILTIN_WEIGHTS, auto_enabled, virtual_weights
from interfaces.config_summary import summary_of
from tests.unit.settings.test_settings_loader import PROVIDER, error, load

ENV = {"OPENAI_API_KEY": "sk-test"}

LOCAL = """\
  - name: local
    kind: openai-compatible
    base_url: http://127.0.0.1:11434/v1
    models:
      - name: llama3.1
"""


def test_the_four_virtual_models_are_there_by_default() -> None:
    routing = Settings().routing
    assert auto_enabled(routing.builtin_virtual_models, routing.virtual_models)
    assert set(virtual_weights(True, {})) == {"fast", "cheap", "quality"}
    assert (routing.tiers.simple, routing.tiers.medium) == ("cheap", "fast")
    assert (routing.tiers.complex, routing.tiers.reasoning) == ("quality", "quality")
    assert routing.tiers.by_size is None
    assert routing.local_share == 0.7


def test_a_full_routing_section_loads(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        PROVIDER
        + LOCAL
        + """\
routing:
  builtin_virtual_models: true
  virtual_models:
    cheap: {weights: {cost: 1}}
    fast: {enabled: false}
    mine: {weights: {quality: 0.5, latency: 0.5}, models: [gpt-4o-mini, local/llama3.1]}
  tiers: {medium: mine, by_size: {above_prompt_tokens: 4000, fast: cheap, deep: gpt-4o-mini}}
  quality: {gpt-4o-mini: 0.6, local/llama3.1: 0.4}
  never_virtual: [llama3.1]
  local_share: 0.5
""",
        ENV,
    )
    routing = settings.routing
    chosen = virtual_weights(routing.builtin_virtual_models, routing.virtual_models)
    assert set(chosen) == {"cheap", "quality", "mine"}
    assert (chosen["cheap"][0].cost, chosen["cheap"][0].quality) == (1, 0)
    assert chosen["quality"][0] == BUILTIN_WEIGHTS["quality"]
    assert chosen["mine"][1] == ["gpt-4o-mini", "local/llama3.1"]


@pytest.mark.parametrize(
    ("routing", "message"),
    [
        (
            "tiers: {simple: gpt-5}",
            "routing.tiers.simple: names neither a declared model nor an enabled virtual model: "
            "'gpt-5'",
        ),
        ("tiers: {reasoning: auto}", "routing.tiers.reasoning: cannot be auto itself"),
        (
            "virtual_models: {fast: {enabled: false}}",
            "routing.tiers.medium: names neither a declared model nor an enabled virtual model: "
            "'fast'",
        ),
        (
            "virtual_models: {mine: {models: [gpt-4o-mini]}}",
            "routing.virtual_models.mine.weights: is required for a virtual model of your own",
        ),
        (
            "virtual_models: {auto: {weights: {cost: 1}}}",
            "routing.virtual_models.auto.weights: is not used: auto routes by routing.tiers",
        ),
        (
            "virtual_models: {cheap: {weights: {cost: 0}}}",
            "must give at least one of cost, quality, latency a weight above 0",
        ),
        (
            "virtual_models: {cheap: {models: [gpt-5]}}",
            "routing.virtual_models.cheap.models[0]: names no declared model: 'gpt-5'",
        ),
        ("virtual_models: {Open/AI: {}}", "routing.virtual_models"),
        ("quality: {gpt-5: 0.9}", "routing.quality.gpt-5: names no declared model"),
        ("quality: {gpt-4o-mini: 1.5}", "routing.quality"),
        ("never_virtual: [gpt-5]", "routing.never_virtual[0]: names no declared model: 'gpt-5'"),
        ("local_share: 1.2", "routing.local_share"),
        (
            "tiers: {by_size: {above_prompt_tokens: 10, fast: cheap, deep: gpt-5}}",
            "routing.tiers.by_size.deep: names neither a declared model nor an enabled virtual "
            "model: 'gpt-5'",
        ),
    ],
)
def test_a_broken_rule_is_one_clear_line(tmp_path: Path, routing: str, message: str) -> None:
    assert message in error(tmp_path, PROVIDER + "routing:\n  " + routing + "\n", ENV)


def test_a_model_named_like_a_virtual_model_is_refused_unless_that_one_is_off(
    tmp_path: Path,
) -> None:
    named_fast = PROVIDER.replace("- name: gpt-4o-mini", "- name: fast")
    message = error(tmp_path, named_fast, ENV)
    assert "'fast' is both a declared model and a virtual model" in message
    assert "routing.virtual_models.fast.enabled: false" in message
    off = "routing:\n  virtual_models: {fast: {enabled: false}}\n  tiers: {medium: cheap}\n"
    assert load(tmp_path, named_fast + off, ENV).providers[0].models[0].name == "fast"
    none = "routing:\n  builtin_virtual_models: false\n"
    assert load(tmp_path, named_fast + none, ENV).routing.builtin_virtual_models is False


def test_a_routing_change_is_a_configuration_change_the_audit_log_records(
    tmp_path: Path,
) -> None:
    plain = load(tmp_path, PROVIDER, ENV)
    assert "routing" not in summary_of(plain)  # the default sums up as before routing existed
    tiered = load(tmp_path, PROVIDER + "routing:\n  tiers: {simple: gpt-4o-mini}\n", ENV)
    assert summary_of(tiered)["routing"]["tiers"]["simple"] == "gpt-4o-mini"
    assert changes(summary_of(plain), summary_of(tiered))["added"] == ["routing"]
    cheaper = load(
        tmp_path, PROVIDER + "routing:\n  tiers: {simple: cheap}\n  local_share: 1\n", ENV
    )
    assert changes(summary_of(tiered), summary_of(cheaper))["changed"] == ["routing"]
