"""The pass-through lane, byte for byte: when the client speaks its upstream's own dialect (OpenAI
chat to OpenAI, Anthropic Messages to Anthropic) the upstream gets the very bytes the client
sent, but for the members the gateway must change (the model's upstream name, the output cap a
reservation demands, a stream's request for usage), and the client gets the very bytes the
upstream answered; still authenticated, admitted, metered and audited. The fakes record the
bytes that crossed the wire; a marker in each body finds its exchange."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.server import RawExchange
from tests.support.gateway import LIMITS_RELOAD, GatewayProcess
from tests.support.matrix import assert_usage_recorded
from tests.support.tenants import Tenant, create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

ANTHROPIC_HEADERS = {
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "prompt-caching-2024-07-31,context-management-2025-06-27",
    "Content-Type": "application/json",
}


def _tenant(gateway: GatewayProcess, name: str, *, budget: bool = False) -> Tenant:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"{name}-{secrets.token_hex(3)}")
        if budget:
            answer = admin.put(
                f"/teams/{tenant.team_id}/budget", json={"period": "total", "max_usd": "50"}
            )
            assert answer.status_code == 200, answer.text
    if budget:
        time.sleep(LIMITS_RELOAD)
    return tenant


def _exchange(fake: FakeOpenAI | FakeAnthropic, marker: str) -> RawExchange:
    (exchange,) = [e for e in fake.exchanges if marker.encode() in e.received]
    return exchange


def _openai_body(model: str, marker: str, *, stream: bool, usage: bool = True) -> bytes:
    """A chat body as no SDK writes it: spacing, escapes, number spellings and fields OpenAI may
    add tomorrow, all of which must reach the upstream as they are."""
    options = ', "stream_options" : {"include_usage": true}' if usage else ""
    streaming = f', "stream": true{options}' if stream else ""
    return (
        f'{{\n  "model": "{model}",\n  "messages": [\n'
        f'    {{"role": "system", "content": "Be \\u00e9l\\u00e9gant {marker}"}},\n'
        f'    {{"role": "user", "content": "pass me through {marker}", "x-note": null}}\n  ],\n'
        f'  "temperature": 0.50, "top_p": 1.0E0, "seed": 12345678901,\n'
        f'  "x-vendor-future": {{"deep": [1, 2.50, {{"}}": "]"}}], "flag": false}},\n'
        f'  "metadata": {{"trace": "{marker}"}}{streaming}\n}}\n'
    ).encode()


def _anthropic_body(model: str, marker: str, *, stream: bool, extra: str = "") -> bytes:
    streaming = ', "stream" : true' if stream else ""
    return (
        f'{{"model":"{model}", "max_tokens" : 200,\n'
        f' "system": [{{"type": "text", "text": "You are terse {marker}",'
        f' "cache_control": {{"type": "ephemeral", "ttl": "1h"}}}}],\n'
        f' "messages": [{{"role": "user", "content": [{{"type": "text",'
        f' "text": "cach\\u00e9 me {marker}", "cache_control": {{"type": "ephemeral"}}}}]}}],\n'
        f' "cache_control": {{"type": "ephemeral"}},'
        f' "metadata": {{"user_id": "u-{marker}"}}{streaming}{extra} }}'
    ).encode()


def _post(
    gateway: GatewayProcess, path: str, body: bytes, key: str, **headers: str
) -> httpx.Response:
    answer = httpx.post(
        f"{gateway.base_url}{path}",
        content=body,
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **headers},
        timeout=30,
    )
    return answer


def _audited(gateway: GatewayProcess, tenant: Tenant, calls: int) -> None:
    def rows() -> list[Any]:
        with gateway.admin() as admin:
            params = {"actor": f"key:{tenant.key_id}", "action": "chat.completion", "limit": 100}
            found: list[Any] = admin.get("/audit", params=params).json()["rows"]
        return found if len(found) >= calls else []

    assert len(eventually(rows)) == calls


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_openai_chat_passes_byte_for_byte(
    gateway: GatewayProcess, upstream: FakeOpenAI, stream: bool
) -> None:
    tenant = _tenant(gateway, "pass-openai")
    marker = secrets.token_hex(6)
    sent = _openai_body("gpt-4o-mini", marker, stream=stream)
    answer = _post(gateway, "/v1/chat/completions", sent, tenant.key)
    assert answer.status_code == 200, answer.text
    exchange = _exchange(upstream, marker)
    assert exchange.received == sent
    assert answer.content == bytes(exchange.sent)
    usage = _openai_usage(answer.content, stream=stream)
    assert_usage_recorded(gateway, tenant.key_id, "gpt-4o-mini", [usage])
    _audited(gateway, tenant, 1)


def _openai_usage(content: bytes, *, stream: bool) -> tuple[int, int, int]:
    if stream:
        events = [line[6:] for line in content.decode().split("\n") if line.startswith("data: ")]
        body = json.loads(events[-2])
    else:
        body = json.loads(content)
    usage = body["usage"]
    return usage["prompt_tokens"], 0, usage["completion_tokens"]


def test_only_what_the_gateway_must_change_changes(
    gateway: GatewayProcess, upstream: FakeOpenAI
) -> None:
    tenant = _tenant(gateway, "pass-changes", budget=True)
    # the qualified name becomes the upstream's; the reservation's cap is added (no max_tokens
    # was named: OpenAI's API takes it as max_completion_tokens); a stream that did not ask for
    # usage asks for it, and the usage chunk the client did not ask for is not passed on
    marker = secrets.token_hex(6)
    sent = _openai_body("openai/gpt-4o-mini", marker, stream=True, usage=False)
    answer = _post(gateway, "/v1/chat/completions", sent, tenant.key)
    assert answer.status_code == 200, answer.text
    exchange = _exchange(upstream, marker)
    close = sent.rindex(b"}")
    expected = (
        sent[:close].replace(b'"openai/gpt-4o-mini"', b'"gpt-4o-mini"', 1)
        + b',"max_completion_tokens":4096,"stream_options":{"include_usage":true}'
        + sent[close:]
    )
    assert exchange.received == expected
    upstream_events = bytes(exchange.sent).split(b"\n\n")
    usage_chunk = upstream_events[-3]
    assert b'"choices":[]' in usage_chunk
    assert answer.content == bytes(exchange.sent).replace(usage_chunk + b"\n\n", b"", 1)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_anthropic_messages_pass_byte_for_byte(
    gateway: GatewayProcess, anthropic_upstream: FakeAnthropic, stream: bool
) -> None:
    tenant = _tenant(gateway, "pass-anthropic")
    marker = secrets.token_hex(6)
    sent = _anthropic_body("claude-haiku-4-5", marker, stream=stream)
    answer = _post(gateway, "/v1/messages", sent, tenant.key, **ANTHROPIC_HEADERS)
    assert answer.status_code == 200, answer.text
    exchange = _exchange(anthropic_upstream, marker)
    assert exchange.received == sent
    assert answer.content == bytes(exchange.sent)
    (recorded,) = [r for r in anthropic_upstream.requests if marker in str(r.json)]
    assert recorded.headers["anthropic-beta"] == ANTHROPIC_HEADERS["anthropic-beta"]
    assert recorded.headers["anthropic-version"] == "2023-06-01"
    assert recorded.headers["x-api-key"] != tenant.key
    _audited(gateway, tenant, 1)


def test_anthropic_alias_cap_and_unknown_fields(
    gateway: GatewayProcess, anthropic_upstream: FakeAnthropic
) -> None:
    tenant = _tenant(gateway, "pass-anthropic-alias")
    marker = secrets.token_hex(6)
    sent = _anthropic_body("anthropic/claude-haiku-4-5", marker, stream=False)
    answer = _post(gateway, "/v1/messages", sent, tenant.key, **ANTHROPIC_HEADERS)
    assert answer.status_code == 200, answer.text
    exchange = _exchange(anthropic_upstream, marker)
    assert exchange.received == sent.replace(
        b'"anthropic/claude-haiku-4-5"', b'"claude-haiku-4-5"', 1
    )
    assert answer.content == bytes(exchange.sent)
    assert_usage_recorded(
        gateway, tenant.key_id, "claude-haiku-4-5", [_anthropic_usage(answer.json())]
    )
    # a field the gateway does not know reaches Anthropic as it was written; Anthropic refuses it
    marker = secrets.token_hex(6)
    unknown = _anthropic_body(
        "claude-haiku-4-5", marker, stream=False, extra=', "x-tomorrow": {"a": [1.50]}'
    )
    refused = _post(gateway, "/v1/messages", unknown, tenant.key, **ANTHROPIC_HEADERS)
    assert refused.status_code == 400
    assert refused.json()["type"] == "error"
    assert _exchange(anthropic_upstream, marker).received == unknown


def _anthropic_usage(message: dict[str, Any]) -> tuple[int, int, int]:
    usage = message["usage"]
    cached = usage.get("cache_read_input_tokens") or 0
    prompt = usage["input_tokens"] + cached + (usage.get("cache_creation_input_tokens") or 0)
    return prompt, cached, usage["output_tokens"]
