"""The routing policies in the completion pipeline: a refusal comes before admission and the
upstream; a cap lowers what is reserved and what is asked for; a forced model is the one
admitted and called; the key's own model list still holds."""

from __future__ import annotations

import pytest

from application.providers.completions.admit import CallAdmission
from application.providers.completions.pipeline import CompletionPipeline
from application.providers.completions.request import CompletionRequest
from application.providers.completions.upstream import ProviderCalls
from domains.providers.errors import ModelNotAllowed
from domains.providers.model import Catalog, ModelRoute
from domains.providers.policy import Effects, Match, Policies, PolicyDenied, Rule
from domains.shared.caller import Caller
from tests.unit.application.test_completion_pipeline import (
    BODY,
    CALLER,
    ROUTE,
    FakeAdmission,
    FakeClient,
    FakeRecorder,
    _room,
)

LOCAL = ModelRoute(provider="local", kind="openai-compatible", name="llama", upstream="llama:8b")


def pipeline(admission: FakeAdmission, client: FakeClient, *rules: Rule) -> CompletionPipeline:
    return CompletionPipeline(
        Catalog([ROUTE, LOCAL]),
        CallAdmission(_room, admission=admission, default_max_output_tokens=4096),
        ProviderCalls({"openai": client, "local": client}),  # type: ignore[dict-item]
        FakeRecorder(),
        policies=Policies(rules),
    )


def ask(model: str = "gpt-4o-mini", caller: Caller = CALLER, **body: object) -> CompletionRequest:
    return CompletionRequest(
        caller=caller, request_id="r", model=model, body={**BODY, "model": model, **body}
    )


async def test_a_refusal_comes_before_admission_and_the_upstream() -> None:
    admission, client = FakeAdmission(), FakeClient()
    tagged = Caller(key_id="k1", key_prefix="fr-x", team_id="t1", org_id="o1", tags=("pii",))
    rule = Rule("pii", Match(tags=frozenset({"pii"})), Effects(pin="self_hosted"))
    with pytest.raises(PolicyDenied, match="`pii`"):
        await pipeline(admission, client, rule).complete(ask(caller=tagged))
    assert (admission.asked, client.bodies) == ([], [])
    answer = await pipeline(admission, client, rule).complete(ask("llama", caller=tagged))
    assert answer.route is LOCAL
    # untagged, the rule does not apply
    await pipeline(admission, client, rule).complete(ask())
    assert admission.asked == [("local", "llama"), ("openai", "gpt-4o-mini")]


async def test_a_cap_lowers_the_reservation_and_the_body_sent() -> None:
    admission, client = FakeAdmission(), FakeClient()
    cap = Rule("cap", effects=Effects(max_tokens=50))
    await pipeline(admission, client, cap).complete(ask(max_tokens=900, n=2))
    await pipeline(admission, client, cap).complete(ask())
    await pipeline(admission, client, cap).complete(ask(max_tokens=10))
    assert [most for _, most in admission.estimates] == [50, 50, 10]
    assert client.bodies[0]["max_tokens"] == 25  # per choice, two choices
    assert client.bodies[1]["max_completion_tokens"] == 50
    assert client.bodies[2]["max_tokens"] == 10
    assert "max_tokens" not in BODY  # the client's body is never changed in place


async def test_a_forced_model_is_admitted_and_called_and_the_key_list_still_holds() -> None:
    admission, client = FakeAdmission(), FakeClient()
    force = Rule("force", Match(models=("gpt-*",)), Effects(force_model="local/llama"))
    answer = await pipeline(admission, client, force).complete(ask("gpt-4o"))
    assert answer.route is LOCAL
    assert admission.asked == [("local", "llama")]
    limited = Caller(key_id="k", key_prefix="fr-y", team_id="t", org_id="o", models=("gpt-4o",))
    with pytest.raises(ModelNotAllowed, match="`local/llama`"):
        await pipeline(admission, client, force).complete(ask("gpt-4o", caller=limited))


async def test_embeddings_and_token_counts_are_refused_alike() -> None:
    deny = Rule("no-openai", effects=Effects(deny_providers=frozenset({"openai"})))
    refusing = pipeline(FakeAdmission(), FakeClient(), deny)
    with pytest.raises(PolicyDenied):
        await refusing.embed(ask())
    with pytest.raises(PolicyDenied):
        await refusing.count_tokens(CALLER, "gpt-4o-mini", BODY, {})


def test_a_key_list_reaches_wildcard_models_through_provider_star() -> None:
    wildcard = ModelRoute(provider="openai", kind="openai", name="*", upstream="*")
    routes = CompletionPipeline(
        Catalog([ROUTE, wildcard]),
        CallAdmission(_room, admission=FakeAdmission()),
        ProviderCalls({"openai": FakeClient()}),  # type: ignore[dict-item]
        FakeRecorder(),
    )
    star = Caller(key_id="k", key_prefix="fr-z", team_id="t", org_id="o", models=("openai/*",))
    assert routes.route_for(star, "openai/gpt-5").upstream == "gpt-5"
    assert routes.models_for(star) == [("openai/*", wildcard)]
    exact = Caller(key_id="k", key_prefix="fr-z", team_id="t", org_id="o", models=("gpt-4o-mini",))
    with pytest.raises(ModelNotAllowed):
        routes.route_for(exact, "openai/gpt-5")
    assert routes.models_for(exact) == [("gpt-4o-mini", ROUTE)]
    assert [shown for shown, _ in routes.models_for(CALLER)] == ["gpt-4o-mini", "openai/*"]
