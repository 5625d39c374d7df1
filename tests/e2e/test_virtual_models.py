"""Virtual models through the running gateway, on both shapes, against the fake upstreams (each
answers with the model it was sent, so the answer says which model served): `auto` sends every
prompt of docs/routing.md's table to its tier's model, `cheap` picks the cheapest model the key
may use, a key restricted to some models is never routed outside them, and the other front doors
(Anthropic Messages, Responses, Gemini, the WebSocket protocol) route a virtual model alike."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import Tenant, create_tenant
from tests.support.tier_table import tier_table
from tests.support.ws import chat_socket, chat_start

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

ROWS = tier_table()
SIMPLE = "What is the capital of France?"
REASONING = "Prove that there are infinitely many primes."


@pytest.fixture(scope="module")
def http(gateway: GatewayProcess) -> Any:
    with httpx.Client(base_url=gateway.base_url, timeout=15) as client:
        yield client


def chat(http: httpx.Client, key: str, model: str, prompt: str) -> httpx.Response:
    return http.post(
        "/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": prompt}]},
    )


def served(http: httpx.Client, key: str, model: str, prompt: str) -> str:
    answer = chat(http, key, model, prompt)
    assert answer.status_code == 200, answer.text
    name: str = answer.json()["model"]
    return name


def test_auto_sends_each_documented_prompt_to_its_tiers_model(
    http: httpx.Client, tenant: Tenant
) -> None:
    got = {row.prompt: served(http, tenant.key, "auto", row.prompt) for row in ROWS}
    assert got == {row.prompt: row.model for row in ROWS}


def test_cheap_picks_the_cheapest_model_the_key_may_use(
    http: httpx.Client, admin: httpx.Client
) -> None:
    # blended USD per million tokens: gemini-2.5-flash 0.85, gpt-4o 4.375, claude-haiku-4-5 6
    vendors = create_tenant(
        admin, "cheap-vendors", models=["gpt-4o", "claude-haiku-4-5", "gemini-2.5-flash"]
    )
    assert served(http, vendors.key, "cheap", SIMPLE) == "gemini-2.5-flash"
    openai_only = create_tenant(admin, "cheap-openai", models=["gpt-4o", "gpt-4o-mini"])
    assert served(http, openai_only.key, "cheap", SIMPLE) == "gpt-4o-mini"


def test_a_key_restricted_to_some_models_is_never_routed_outside_them(
    http: httpx.Client, admin: httpx.Client
) -> None:
    only = create_tenant(admin, "virtual-only-gpt-4o", models=["gpt-4o"])
    # auto's simple tier goes to gpt-4o-mini, which this key may not use: `cheap` among its own
    for model in ("auto", "fast", "cheap", "quality"):
        for prompt in (SIMPLE, REASONING):
            assert served(http, only.key, model, prompt) == "gpt-4o", (model, prompt)
    listed = http.get("/v1/models", headers={"Authorization": f"Bearer {only.key}"}).json()
    assert [m["id"] for m in listed["data"]] == ["gpt-4o", "auto", "fast", "cheap", "quality"]
    embeddings = create_tenant(admin, "virtual-embeddings", models=["text-embedding-3-small"])
    refused = chat(http, embeddings.key, "cheap", SIMPLE)  # no model a virtual model chooses
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "model_not_allowed"
    listed = http.get("/v1/models", headers={"Authorization": f"Bearer {embeddings.key}"}).json()
    assert [m["id"] for m in listed["data"]] == ["text-embedding-3-small"]


def test_every_front_door_routes_a_virtual_model(http: httpx.Client, tenant: Tenant) -> None:
    messages = http.post(
        "/v1/messages",
        headers={"x-api-key": tenant.key, "anthropic-version": "2023-06-01"},
        json={
            "model": "auto",
            "max_tokens": 64,
            "messages": [{"role": "user", "content": REASONING}],
        },
    )
    assert messages.status_code == 200, messages.text
    assert messages.json()["model"] == "gpt-4o"  # the reasoning tier, through the translation
    responses = http.post(
        "/v1/responses",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={"model": "auto", "input": SIMPLE, "store": False},
    )
    assert responses.status_code == 200, responses.text
    assert responses.json()["model"] == "gpt-4o-mini"
    gemini = http.post(
        "/v1beta/models/auto:generateContent",
        headers={"x-goog-api-key": tenant.key},
        json={"contents": [{"role": "user", "parts": [{"text": "Explain why the sky is blue."}]}]},
    )
    assert gemini.status_code == 200, gemini.text
    assert gemini.json()["modelVersion"] == "gemini-2.5-flash"  # medium, passed natively
    listed = http.get("/v1beta/models/auto", headers={"x-goog-api-key": tenant.key})
    assert listed.status_code == 200, listed.text
    assert listed.json()["name"] == "models/auto"
    embeddings = http.post(
        "/v1/embeddings",
        headers={"Authorization": f"Bearer {tenant.key}"},
        json={"model": "auto", "input": "hello"},
    )
    assert embeddings.status_code == 404
    assert embeddings.json()["error"]["code"] == "model_not_found"


async def test_the_websocket_protocol_routes_a_virtual_model(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    only = create_tenant(admin, "virtual-ws", models=["claude-haiku-4-5"])
    async with chat_socket(gateway.base_url, only.key) as socket:
        await socket.send(chat_start("r", REASONING, model="auto", max_tokens=50))
        done = await socket.until_end_of("r")
        await socket.send(chat_start("e", SIMPLE, model="no-such-virtual", max_tokens=50))
        refused = await socket.until_end_of("e")
    # the reasoning tier's gpt-4o is not the key's: `quality` among its own, the one it has
    assert done["type"] == "chat.done", done
    assert done["usage"]["completion_tokens"] > 0
    assert REASONING in socket.text_of("r")  # the Anthropic fake echoes the prompt
    assert (refused["type"], refused["status"]) == ("error", 404)
    assert refused["error"]["code"] == "model_not_found"
