"""`POST /v1/completions` through the running gateway, on both shapes: the official `openai`
SDK's `completions.create` (plain and streamed) and langchain's `OpenAI` LLM, natively to the
`openai` and `openai-compatible` upstreams and translated to chat for Anthropic and Gemini, with
the usage the client was shown recorded and priced."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import openai
import pytest
from langchain_openai import OpenAI as LangchainOpenAI

from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.matrix import COMPLETION_MODELS, assert_usage_recorded
from tests.support.tenants import Tenant, create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

NATIVE = {"gpt-3.5-turbo-instruct", "llama-instruct"}


def _client(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=key, max_retries=0)


def _tenant(gateway: GatewayProcess, name: str) -> Tenant:
    with gateway.admin() as admin:
        return create_tenant(admin, f"{name}-{secrets.token_hex(3)}")


@pytest.mark.parametrize("model", COMPLETION_MODELS)
def test_plain_and_streamed_with_usage_recorded(gateway: GatewayProcess, model: str) -> None:
    tenant = _tenant(gateway, "legacy")
    client = _client(gateway, tenant.key)
    plain = client.completions.create(model=model, prompt="Say this is a test", max_tokens=20)
    assert plain.object == "text_completion"
    (choice,) = plain.choices
    assert (choice.index, choice.text, choice.finish_reason) == (
        0,
        "Echo: Say this is a test",
        "stop",
    )
    assert plain.usage is not None
    assert plain.usage.completion_tokens == 6
    assert plain.usage.total_tokens == plain.usage.prompt_tokens + plain.usage.completion_tokens

    chunks = list(
        client.completions.create(
            model=model,
            prompt="Say this is a test",
            max_tokens=20,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert all(chunk.object == "text_completion" for chunk in chunks)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == choice.text
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop"
    assert set(finishes[:-1]) <= {None}
    usage = chunks[-1].usage
    assert chunks[-1].choices == []
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (
        plain.usage.prompt_tokens,
        plain.usage.completion_tokens,
    )
    quiet = list(client.completions.create(model=model, prompt="quiet", stream=True))
    assert all(chunk.choices and chunk.usage is None for chunk in quiet)
    assert "".join(c.choices[0].text for c in quiet) == "Echo: quiet"
    seen = [plain.usage, usage]
    assert_usage_recorded(
        gateway,
        tenant.key_id,
        model,
        # the stream that asked for no usage is billed the upstream's own count all the same
        # (the gateway asked for it): one prompt word, two answer words, as every fake counts
        [(u.prompt_tokens, 0, u.completion_tokens) for u in seen] + [(1, 0, 2)],
    )


@pytest.mark.parametrize("model", COMPLETION_MODELS)
def test_max_tokens_defaults_to_16_and_several_prompts_get_choices_in_order(
    gateway: GatewayProcess, model: str
) -> None:
    client = _client(gateway, _tenant(gateway, "prompts").key)
    words = " ".join(f"w{i}" for i in range(40))
    cut = client.completions.create(model=model, prompt=words)
    assert len(cut.choices[0].text.split()) == 16
    assert cut.choices[0].finish_reason == "length"
    several = client.completions.create(model=model, prompt=["one", "two three"], max_tokens=9)
    assert [(c.index, c.text) for c in several.choices] == [
        (0, "Echo: one"),
        (1, "Echo: two three"),
    ]
    assert several.usage is not None
    assert several.usage.completion_tokens == 2 + 3


@pytest.mark.parametrize("model", ["claude-haiku-4-5", "gemini-2.5-flash"])
@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"suffix": "!"}, "suffix"),
        ({"echo": True}, "echo"),
        ({"logprobs": 2}, "logprobs"),
        ({"best_of": 3}, "best_of"),
        ({"prompt": [1212, 318]}, "prompt"),
        ({"prompt": [[1], [2]]}, "prompt"),
        ({"max_tokens": 0}, "max_tokens"),
    ],
)
def test_what_chat_cannot_say_is_a_clear_400(
    gateway: GatewayProcess, tenant: Tenant, model: str, extra: dict[str, Any], param: str
) -> None:
    client = _client(gateway, tenant.key)
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model=model, **{"prompt": "hi", **extra})
    assert refused.value.param == param
    assert refused.value.type == "invalid_request_error"


def test_several_prompts_stream_only_natively(gateway: GatewayProcess, tenant: Tenant) -> None:
    client = _client(gateway, tenant.key)
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model="claude-haiku-4-5", prompt=["a", "b"], stream=True)
    assert refused.value.param == "prompt"
    chunks = list(
        client.completions.create(model="gpt-3.5-turbo-instruct", prompt=["a", "b c"], stream=True)
    )
    by_index: dict[int, str] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            by_index[choice.index] = by_index.get(choice.index, "") + choice.text
    assert by_index == {0: "Echo: a", 1: "Echo: b c"}


@pytest.mark.parametrize("model", sorted(NATIVE))
def test_natively_echo_logprobs_suffix_and_token_ids_reach_the_upstream(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI, model: str
) -> None:
    client = _client(gateway, tenant.key)
    echoed = client.completions.create(model=model, prompt="hi there", echo=True, logprobs=1)
    assert echoed.choices[0].text == "hi there" + "Echo: hi there"
    assert echoed.choices[0].logprobs is not None
    tokens = client.completions.create(model=model, prompt=[[5, 6]], suffix="!", best_of=2)
    assert tokens.choices[0].text == "Echo: t5 t6"
    assert tokens.usage is not None
    assert tokens.usage.completion_tokens == 3 * 2
    sent = upstream.requests[-1].json
    assert sent["prompt"] == [[5, 6]]
    assert sent["suffix"] == "!"
    assert sent["best_of"] == 2
    assert sent["model"] == "gpt-3.5-turbo-instruct"


def test_the_body_passes_natively_as_the_client_wrote_it(
    gateway: GatewayProcess, tenant: Tenant, upstream: FakeOpenAI
) -> None:
    marker = secrets.token_hex(4)
    sent = (
        f'{{ "model" : "llama-instruct", "prompt": "caf\\u00e9 {marker}",\n'
        '  "temperature": 0.50, "x-vendor": {"keep": [1.0, "me"]}, "max_tokens": 30 }'
    )
    answer = httpx.post(
        f"{gateway.base_url}/v1/completions",
        content=sent,
        headers={"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    (exchange,) = [e for e in upstream.exchanges if marker.encode() in e.received]
    assert exchange.path == "/v1/completions"
    assert (
        exchange.received == sent.replace('"llama-instruct"', '"gpt-3.5-turbo-instruct"').encode()
    )
    assert answer.content == bytes(exchange.sent)


def test_a_stream_cut_at_its_reservation_ends_at_its_length(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"legacy-cap-{secrets.token_hex(3)}")
        budget = admin.put(
            f"/teams/{tenant.team_id}/budget", json={"period": "total", "max_usd": "5"}
        )
        assert budget.status_code == 200, budget.text
    time.sleep(LIMITS_RELOAD)
    answer = httpx.post(
        f"{gateway.base_url}/v1/completions",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={
            "model": "fake-runaway",
            "prompt": "go on",
            "max_tokens": 10,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    events = [line[6:] for line in answer.text.split("\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(event) for event in events[:-1]]
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "length"
    assert chunks[-1]["object"] == "text_completion"
    assert 0 < chunks[-1]["usage"]["completion_tokens"] <= 10
    text = "".join(c["choices"][0]["text"] for c in chunks if c["choices"])
    assert len(text.split()) < 1000


@pytest.mark.parametrize("model", ["gpt-3.5-turbo-instruct", "claude-haiku-4-5"])
def test_langchain_openai_llm(gateway: GatewayProcess, tenant: Tenant, model: str) -> None:
    llm = LangchainOpenAI(
        model=model,
        base_url=f"{gateway.base_url}/v1",
        api_key=tenant.key,  # type: ignore[arg-type]
        max_retries=0,
        max_tokens=32,
    )
    assert llm.invoke("hello chain") == "Echo: hello chain"
    assert "".join(llm.stream("streamed chain")) == "Echo: streamed chain"
    assert llm.batch(["first", "second one"]) == ["Echo: first", "Echo: second one"]


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        (b"{not json", 400, None),
        (b"[]", 400, None),
        (b'{"model": "gpt-3.5-turbo-instruct"}', 400, "prompt"),
        (b'{"model": "gpt-3.5-turbo-instruct", "prompt": [true]}', 400, "prompt"),
        (b'{"model": "gpt-3.5-turbo-instruct", "prompt": []}', 400, "prompt"),
        (b'{"model": "gpt-3.5-turbo-instruct", "prompt": "x", "n": 0}', 400, "n"),
        (b'{"model": "gpt-3.5-turbo-instruct", "prompt": "x", "max_tokens": 1e99}', 400, None),
        (b'{"model": "gpt-3.5-turbo-instruct", "prompt": "x", "stop": [1]}', 400, "stop[0]"),
        (b'{"model": "claude-haiku-4-5", "prompt": "x", "stream": "yes"}', 400, "stream"),
        (b'{"model": "no-such-model", "prompt": "x"}', 404, None),
    ],
)
def test_bad_bodies_are_openai_errors_naming_their_parameter(
    gateway: GatewayProcess, tenant: Tenant, body: bytes, status: int, param: str | None
) -> None:
    answer = httpx.post(
        f"{gateway.base_url}/v1/completions",
        content=body,
        headers={"Authorization": f"Bearer {tenant.key}", "Content-Type": "application/json"},
    )
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert param is None or error["param"] == param, error


@pytest.mark.parametrize(("model", "status"), [("claude-overloaded", 503), ("fake-error-429", 429)])
def test_upstream_failures_are_the_one_table_s_answers(
    gateway: GatewayProcess, tenant: Tenant, model: str, status: int
) -> None:
    answer = httpx.post(
        f"{gateway.base_url}/v1/completions",
        json={"model": model, "prompt": "x"},
        headers={"Authorization": f"Bearer {tenant.key}"},
    )
    assert answer.status_code == status, answer.text
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
