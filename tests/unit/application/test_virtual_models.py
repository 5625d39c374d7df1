"""Virtual models in the pipeline's route step, built from settings as the gateway builds them:
each chooses among the caller's models only, `auto` by tier (or by size), a tier's model the key
may not use gives way to its default virtual model, the reason is told, and the latency
measured from finished calls steers `fast`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from application.billing.limits_cache import LimitsCache
from application.providers.completions.admit import CallAdmission
from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.request import CompletionRequest
from application.providers.completions.upstream import ProviderCalls
from application.providers.completions.virtual import VirtualModels
from application.providers.latency import EwmaLatency, TimedRecorder
from domains.billing.limits import LimitsSnapshot
from domains.billing.model import Price
from domains.providers.errors import ModelNotAllowed, UnknownModel
from domains.providers.policy import PolicyDenied
from domains.shared.caller import Caller
from infrastructure.adapters.providers.factory import build_catalog
from infrastructure.settings import Settings
from infrastructure.settings.routing_policies import build_policies
from interfaces.routing_wiring import build_virtual_models
from tests.unit.application.test_completion_pipeline import (
    FakeAdmission,
    FakeClient,
    FakeRecorder,
    _room,
)

PROVIDERS = [
    {
        "name": "openai",
        "kind": "openai",
        "base_url": "https://api.openai.com/v1",
        "models": [
            {"name": "gpt-4o-mini", "price": {"input_per_mtok": 0.15, "output_per_mtok": 0.6}},
            {"name": "gpt-4o", "price": {"input_per_mtok": 2.5, "output_per_mtok": 10}},
            {
                "name": "text-embedding-3-small",
                "price": {"input_per_mtok": 0.02, "output_per_mtok": 0},
            },
            {"name": "o3", "price": {"input_per_mtok": 2, "output_per_mtok": 8}},
        ],
    },
    {
        "name": "local",
        "kind": "openai-compatible",
        "base_url": "http://127.0.0.1:11434/v1",
        "models": [{"name": "llama3.1"}],
    },
]
EVERY = ("gpt-4o-mini", "gpt-4o", "o3", "llama3.1")
SIMPLE = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
REASONING = {
    "messages": [{"role": "user", "content": "Prove that there are infinitely many primes."}]
}


def caller(*models: str) -> Caller:
    return Caller(key_id="k1", key_prefix="fr-x", team_id="t1", org_id="o1", models=models or None)


def virtual(
    routing: dict[str, Any] | None = None, latency: EwmaLatency | None = None
) -> VirtualModels:
    config = msgspec.convert({"providers": PROVIDERS, "routing": routing or {}}, Settings)
    built = build_virtual_models(config, build_catalog(config.providers), latency or EwmaLatency())
    assert built is not None
    return built


TIERED = {
    "quality": {"gpt-4o": 0.9, "o3": 0.95, "gpt-4o-mini": 0.6},
    "tiers": {"simple": "gpt-4o-mini", "reasoning": "o3"},
    "never_virtual": ["o3"],
}


def test_auto_routes_each_tier_to_its_model_and_says_why() -> None:
    models = virtual(TIERED)
    simple = models.resolve(caller(), "auto", SIMPLE)
    assert simple.route.qualified_name == "openai/gpt-4o-mini"
    assert simple.reason == "auto tier=simple points=0 -> openai/gpt-4o-mini"
    reasoning = models.resolve(caller(), "auto", REASONING)
    assert reasoning.route.qualified_name == "openai/o3"  # a tier's model, never_virtual or not
    assert reasoning.reason is not None
    assert reasoning.reason.startswith("auto tier=reasoning")


def test_a_tier_model_the_key_may_not_use_gives_way_to_the_tiers_virtual_model() -> None:
    models = virtual(TIERED)
    routed = models.resolve(caller("gpt-4o", "llama3.1"), "auto", REASONING)
    # reasoning -> o3, not the key's -> quality among gpt-4o and llama3.1: llama3.1 (free,
    # quality 0.5) scores 0.8*0.5 + 0.1 + 0.1 = 0.6, within 70 % of gpt-4o's 0.72 + 0.1 = 0.82
    assert routed.route.qualified_name == "local/llama3.1"
    assert routed.reason == (
        "auto tier=reasoning points=3 -> o3 not allowed -> quality: local/llama3.1 score=0.60"
        " local>=0.7x0.82"
    )
    no_local = virtual({**TIERED, "local_share": 1.0})
    assert no_local.resolve(caller("gpt-4o", "llama3.1"), "auto", REASONING).route.name == "gpt-4o"


def test_cheap_and_quality_choose_among_the_callers_models() -> None:
    models = virtual({"quality": {"gpt-4o": 0.9, "gpt-4o-mini": 0.6}, "local_share": 1.0})
    assert models.resolve(caller(), "cheap", SIMPLE).route.name == "llama3.1"  # free
    assert (
        models.resolve(caller("gpt-4o", "gpt-4o-mini"), "cheap", SIMPLE).route.name == "gpt-4o-mini"
    )
    assert models.resolve(caller("gpt-4o", "gpt-4o-mini"), "quality", SIMPLE).route.name == "gpt-4o"
    assert models.resolve(caller("openai/gpt-4o"), "cheap", SIMPLE).route.name == "gpt-4o"


def test_embeddings_and_never_virtual_models_are_never_chosen() -> None:
    models = virtual({"never_virtual": ["llama3.1"]})
    # the embeddings model is the cheapest priced model, llama3.1 the free one: neither is chosen
    assert models.resolve(caller(), "cheap", SIMPLE).route.name == "gpt-4o-mini"
    with pytest.raises(ModelNotAllowed, match="`cheap`"):
        models.resolve(caller("text-embedding-3-small", "llama3.1"), "cheap", SIMPLE)
    with pytest.raises(ModelNotAllowed, match="`auto`"):  # named as the client named it
        models.resolve(caller("text-embedding-3-small", "llama3.1"), "auto", SIMPLE)


@given(
    st.sets(st.sampled_from((*EVERY, "text-embedding-3-small"))),
    st.sampled_from(["auto", "fast", "cheap", "quality"]),
    st.sampled_from([SIMPLE, REASONING]),
)
@settings(max_examples=150, deadline=None)
def test_a_key_is_never_routed_outside_its_models(
    allowed: set[str], name: str, body: dict[str, Any]
) -> None:
    models = virtual(TIERED)
    who = caller(*sorted(allowed)) if allowed else caller()
    try:
        routed = models.resolve(who, name, body)
    except ModelNotAllowed:
        # none of the models a virtual model chooses (o3 is never_virtual, embeddings never)
        assert allowed
        assert not allowed & {"gpt-4o-mini", "gpt-4o", "llama3.1"}
        return
    assert who.may_use(routed.route.name, routed.route.qualified_name)
    assert routed.route.name in (allowed or EVERY)


def test_by_size_splits_fast_and_deep_without_the_classifier() -> None:
    models = virtual(
        {
            "tiers": {
                "by_size": {"above_prompt_tokens": 100, "fast": "gpt-4o-mini", "deep": "gpt-4o"}
            }
        }
    )
    short = models.resolve(caller(), "auto", REASONING)  # a reasoning prompt, but short
    assert short.route.name == "gpt-4o-mini"
    assert short.reason == "auto size=11tok fast -> openai/gpt-4o-mini"
    long = {"messages": [{"role": "user", "content": "word " * 100}]}  # 500 characters: 125 tokens
    assert models.resolve(caller(), "auto", long).route.name == "gpt-4o"


def test_virtual_models_can_be_defined_changed_and_turned_off() -> None:
    models = virtual(
        {
            "virtual_models": {
                "fast": {"enabled": False},  # then no tier may go to it
                "cheap": {"weights": {"quality": 1.0}},
                "best-openai": {
                    "weights": {"quality": 1.0},
                    "models": ["gpt-4o", "openai/gpt-4o-mini"],
                },
            },
            "tiers": {"medium": "cheap"},
            "quality": {"gpt-4o": 0.9, "llama3.1": 0.2},
            "local_share": 1.0,
        }
    )
    assert not models.is_virtual("fast")
    assert models.resolve(caller(), "cheap", SIMPLE).route.name == "gpt-4o"  # now all quality
    assert models.resolve(caller("gpt-4o-mini", "o3"), "cheap", SIMPLE).route.name == "gpt-4o-mini"
    assert models.resolve(caller(), "best-openai", SIMPLE).route.name == "gpt-4o"
    assert models.names_for(caller("llama3.1")) == ["auto", "cheap", "quality"]
    assert models.names_for(caller("text-embedding-3-small")) == []
    off = msgspec.convert(
        {"providers": PROVIDERS, "routing": {"builtin_virtual_models": False}}, Settings
    )
    assert build_virtual_models(off, build_catalog(off.providers), EwmaLatency()) is None


def test_the_measured_latency_steers_fast() -> None:
    latency = EwmaLatency()
    models = virtual(
        {"local_share": 1.0, "virtual_models": {"fast": {"weights": {"latency": 1}}}}, latency
    )
    for ms in (900.0, 800.0):
        latency.observe("local/llama3.1", ms)
    latency.observe("openai/gpt-4o", 50.0)
    assert latency.latency_ms("local/llama3.1") == pytest.approx(880.0)  # 900 + 0.2 x (800 - 900)
    routed = models.resolve(caller("gpt-4o", "llama3.1"), "fast", SIMPLE)
    assert routed.route.name == "gpt-4o"
    assert routed.reason == "fast: openai/gpt-4o score=0.94"


def pipeline(models: VirtualModels, recorder: Any) -> CompletionPipeline:
    return CompletionPipeline(
        models.catalog,
        CallAdmission(_room, admission=FakeAdmission()),
        ProviderCalls({"openai": FakeClient(), "local": FakeClient()}),  # type: ignore[dict-item]
        recorder,
        virtual=models,
    )


async def test_the_pipeline_resolves_a_virtual_model_and_measures_the_call() -> None:
    latency = EwmaLatency()
    models = virtual(TIERED, latency)
    recorded = FakeRecorder()
    completions = pipeline(models, TimedRecorder(recorded, latency))
    with capture_logs() as logged:
        answer = await completions.complete(
            CompletionRequest(caller=caller(), request_id="r1", model="auto", body=SIMPLE)
        )
    told = [entry for entry in logged if entry["event"] == "v1.virtual_model"]
    assert told == [
        {
            "event": "v1.virtual_model",
            "log_level": "debug",
            "requested": "auto",
            "reason": "auto tier=simple points=0 -> openai/gpt-4o-mini",
        }
    ]
    assert answer.route.qualified_name == "openai/gpt-4o-mini"
    assert answer.route_reason == "auto tier=simple points=0 -> openai/gpt-4o-mini"
    (event,) = recorded.events
    assert event.model == "gpt-4o-mini"
    assert latency.latency_ms("openai/gpt-4o-mini") == event.latency_ms
    plain = await completions.complete(
        CompletionRequest(caller=caller(), request_id="r2", model="gpt-4o", body=SIMPLE)
    )
    assert (plain.route.name, plain.route_reason) == ("gpt-4o", None)


def test_the_pipeline_lists_the_virtual_models_a_key_may_use() -> None:
    completions = pipeline(virtual(TIERED), FakeRecorder())
    shown = [name for name, _ in completions.models_for(caller("gpt-4o"))]
    assert shown == ["gpt-4o", "auto", "fast", "cheap", "quality"]
    owned = {name: route.provider for name, route in completions.models_for(caller("gpt-4o"))}
    assert owned["auto"] == "fluxrouter"
    with pytest.raises(UnknownModel):  # embeddings never take a virtual model
        completions.route_for(caller(), "auto")


async def _no_limits() -> LimitsSnapshot:
    return LimitsSnapshot()


def test_cost_follows_the_current_prices_the_admin_api_included() -> None:
    config = msgspec.convert({"providers": PROVIDERS}, Settings)
    limits = LimitsCache(_no_limits)
    models = build_virtual_models(
        config, build_catalog(config.providers), EwmaLatency(), limits=limits
    )
    assert models is not None
    who = caller("gpt-4o", "gpt-4o-mini")
    # nothing loaded yet: both unpriced, both the dearest: the first declared
    assert models.resolve(who, "cheap", SIMPLE).route.name == "gpt-4o-mini"
    limits.snapshot = LimitsSnapshot.of(
        prices={
            ("openai", "gpt-4o-mini"): Price(Decimal("0.15"), Decimal("0.6")),
            ("openai", "gpt-4o"): Price(Decimal("0.01"), Decimal("0.01")),  # set by an admin
        }
    )
    routed = models.resolve(who, "cheap", SIMPLE)
    assert routed.route.name == "gpt-4o"
    # 0.8 x (1 - 0.01 / 0.2625) + 0.2 x 0.5 (quality unlisted)
    assert routed.reason == "cheap: openai/gpt-4o score=0.87"


def with_policies(routing: dict[str, Any]) -> CompletionPipeline:
    config = msgspec.convert({"providers": PROVIDERS, "routing": routing}, Settings)
    models = build_virtual_models(config, build_catalog(config.providers), EwmaLatency())
    assert models is not None
    return CompletionPipeline(
        models.catalog,
        CallAdmission(_room, admission=FakeAdmission()),
        ProviderCalls({"openai": FakeClient(), "local": FakeClient()}),  # type: ignore[dict-item]
        FakeRecorder(),
        policies=build_policies(config.routing.policies),
        virtual=models,
    )


def test_the_policies_narrow_what_a_virtual_model_chooses_among() -> None:
    completions = with_policies(
        {"policies": [{"name": "no-mini", "effects": {"deny_models": ["gpt-4o-mini"]}}]}
    )
    routed = completions.resolve(caller("gpt-4o", "gpt-4o-mini"), "cheap", SIMPLE)
    assert routed.route.name == "gpt-4o"  # the cheaper one is denied
    pinned = with_policies(
        {
            "policies": [
                {"name": "stay-home", "match": {"tags": "pii"}, "effects": {"pin": "self_hosted"}}
            ]
        }
    )
    tagged = msgspec.structs.replace(caller(), tags=("pii",))
    assert pinned.resolve(tagged, "quality", REASONING).route.name == "llama3.1"
    with pytest.raises(PolicyDenied, match="stay-home"):  # the key's models are all denied
        pinned.resolve(msgspec.structs.replace(tagged, models=("gpt-4o",)), "quality", SIMPLE)


def test_a_rule_matches_autos_tier_and_may_force_a_virtual_model() -> None:
    completions = with_policies(
        {
            "tiers": {"simple": "gpt-4o-mini", "reasoning": "gpt-4o"},
            "policies": [
                {
                    "name": "cap-reasoning",
                    "match": {"tier": "reasoning"},
                    "effects": {"max_tokens": 100},
                },
                {
                    "name": "interns",
                    "match": {"team": "interns"},
                    "effects": {"force_model": "cheap"},
                },
            ],
        }
    )
    reasoning = completions.resolve(caller(), "auto", REASONING)
    assert (reasoning.route.name, reasoning.policy.max_tokens) == ("gpt-4o", 100)
    simple = completions.resolve(caller(), "auto", SIMPLE)
    assert (simple.route.name, simple.policy.max_tokens) == ("gpt-4o-mini", None)
    intern = msgspec.structs.replace(caller("gpt-4o", "gpt-4o-mini"), team_id="interns")
    forced = completions.resolve(intern, "gpt-4o", SIMPLE)  # asked for gpt-4o, forced to cheap
    assert forced.route.name == "gpt-4o-mini"
    assert forced.reason is not None
    assert forced.reason.startswith("cheap: openai/gpt-4o-mini")
