"""The matrix: the official `openai` SDK through the running gateway to every kind of upstream
(openai, openai-compatible, anthropic, gemini), for plain and streamed answers, tool calls, a
tool-result turn and images, with usage and cost checked in every cell."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.images import DATA_URL, PNG, ImageHost
from tests.support.matrix import CHAT_MODELS, OPENAI_TOOLS, PRICES, assert_usage_recorded
from tests.support.tenants import create_tenant, eventually

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


class Cell:
    """One client key per cell, so the cell's usage can be read back alone."""

    def __init__(self, gateway: GatewayProcess, model: str) -> None:
        with gateway.admin() as admin:
            self.tenant = create_tenant(admin, f"matrix-{model}")
        self.gateway = gateway
        self.model = model
        self.client = openai.OpenAI(
            base_url=f"{gateway.base_url}/v1", api_key=self.tenant.key, max_retries=0
        )
        self.seen: list[Any] = []  # the usage objects the client was given

    def create(self, messages: Any, **kwargs: Any) -> Any:
        reply = self.client.chat.completions.create(model=self.model, messages=messages, **kwargs)
        self.seen.append(reply.usage)
        return reply

    def stream(self, messages: Any, **kwargs: Any) -> tuple[str, dict[int, dict[str, str]], str]:
        text, calls, finish = "", {}, ""
        for chunk in self.client.chat.completions.create(
            model=self.model,
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
            **kwargs,
        ):
            if chunk.usage is not None:
                self.seen.append(chunk.usage)
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            text += delta.content or ""
            for call in delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] = call.id or entry["id"]
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
            finish = chunk.choices[0].finish_reason or finish
        return text, calls, finish

    def check_usage_and_cost(self) -> None:
        assert self.seen
        assert all(usage is not None for usage in self.seen)
        assert_usage_recorded(
            self.gateway,
            self.tenant.key_id,
            self.model,
            [
                (
                    usage.prompt_tokens,
                    (usage.prompt_tokens_details.cached_tokens or 0)
                    if usage.prompt_tokens_details
                    else 0,
                    usage.completion_tokens,
                )
                for usage in self.seen
            ],
        )


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_plain_and_streamed_text(gateway: GatewayProcess, model: str) -> None:
    cell = Cell(gateway, model)
    messages: Any = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "hello from the matrix"},
    ]
    plain = cell.create(messages)
    assert plain.choices[0].message.content == "Echo: hello from the matrix"
    assert plain.choices[0].finish_reason == "stop"
    text, calls, finish = cell.stream(messages)
    assert (text, calls, finish) == (plain.choices[0].message.content, {}, "stop")
    assert cell.seen[1].prompt_tokens == plain.usage.prompt_tokens
    assert cell.seen[1].completion_tokens == plain.usage.completion_tokens
    cell.check_usage_and_cost()


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_tool_call_then_tool_result_turn(gateway: GatewayProcess, model: str) -> None:
    cell = Cell(gateway, model)
    question: Any = [{"role": "user", "content": "weather in Lyon"}]
    plain = cell.create(question, tools=OPENAI_TOOLS)
    assert plain.choices[0].finish_reason == "tool_calls"
    call = plain.choices[0].message.tool_calls[0]
    assert call.function.name == "search"
    assert json.loads(call.function.arguments) == {"query": "weather in Lyon"}

    _, streamed_calls, finish = cell.stream(question, tools=OPENAI_TOOLS)
    assert finish == "tool_calls"
    assert [c["name"] for c in streamed_calls.values()] == ["search"]
    assert json.loads(streamed_calls[0]["arguments"]) == {"query": "weather in Lyon"}

    turn: Any = [
        *question,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": "search", "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "sunny and 21 degrees"},
    ]
    answer = cell.create(turn, tools=OPENAI_TOOLS)
    assert answer.choices[0].message.content == "Echo: sunny and 21 degrees"
    assert answer.choices[0].finish_reason == "stop"
    cell.check_usage_and_cost()


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_images_as_data_url_and_http_url(
    gateway: GatewayProcess, model: str, image_url: str
) -> None:
    cell = Cell(gateway, model)
    for url in (DATA_URL, image_url):
        reply = cell.create(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this"},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ]
        )
        assert reply.choices[0].message.content == "Echo: what is this [image]"
    cell.check_usage_and_cost()


def test_anthropic_cached_tokens_are_priced_at_the_cached_price(
    gateway: GatewayProcess,
) -> None:
    cell = Cell(gateway, "claude-cached")
    reply = cell.create([{"role": "user", "content": "a prompt that was cached before"}])
    assert reply.usage.prompt_tokens_details.cached_tokens == 5
    # claude-cached is priced like claude-haiku-4-5
    PRICES.setdefault("claude-cached", PRICES["claude-haiku-4-5"])
    cell.check_usage_and_cost()


@pytest.mark.parametrize(
    ("model", "status", "retry_after"),
    [
        ("claude-overloaded", 503, None),
        ("claude-rate-limited", 429, "7"),
        ("gemini-exhausted", 429, "7"),
    ],
)
def test_vendor_errors_map_to_openai_statuses(
    gateway: GatewayProcess, model: str, status: int, retry_after: str | None
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"errors-{model}")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
    with pytest.raises(openai.APIStatusError) as failure:
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": "x"}])
    assert failure.value.status_code == status
    assert failure.value.response.headers.get("retry-after") == retry_after
    body = failure.value.response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}


def test_gemini_safety_block_is_content_filter(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "safety")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
    reply = client.chat.completions.create(
        model="gemini-safety", messages=[{"role": "user", "content": "something unsafe"}]
    )
    assert reply.choices[0].finish_reason == "content_filter"


def test_gemini_embeddings_float_and_base64(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "gemini-embed")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
    floats = client.embeddings.create(
        model="text-embedding-004", input=["a b", "c"], encoding_format="float"
    )
    packed = client.embeddings.create(model="text-embedding-004", input=["a b", "c"])
    assert len(floats.data) == 2
    assert [d.embedding for d in floats.data] == [d.embedding for d in packed.data]
    assert floats.usage.prompt_tokens > 0


def test_gemini_embeddings_are_sent_in_batches_of_100(
    gateway: GatewayProcess, gemini_upstream: Any
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "gemini-batch")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
    gemini_upstream.clear()
    inputs = [f"text number {n}" for n in range(150)]
    answer = client.embeddings.create(
        model="text-embedding-004", input=inputs, encoding_format="float"
    )
    assert [item.index for item in answer.data] == list(range(150))
    single = client.embeddings.create(
        model="text-embedding-004", input=[inputs[120]], encoding_format="float"
    )
    assert answer.data[120].embedding == single.data[0].embedding
    sizes = [
        len(r.json["requests"])
        for r in gemini_upstream.requests
        if r.path.endswith(":batchEmbedContents")
    ]
    assert sizes == [100, 50, 1]


def test_image_urls_that_redirect_or_point_inside_are_refused(
    gateway: GatewayProcess, image_url: str
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "image-guard")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)

    def ask(model: str, url: str) -> Any:
        return client.chat.completions.create(
            model=model,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this"},
                        {"type": "image_url", "image_url": {"url": url}},
                    ],
                }
            ],
        )

    internal = ImageHost("127.0.0.2")  # as internal as 127.0.0.1, and not on the allow list
    try:
        internal.images["pixel.png"] = PNG
        with pytest.raises(openai.BadRequestError) as missing:
            ask("gemini-2.5-flash", image_url.replace("/pixel.png", "/nothing.png"))
        assert "could not be fetched" in missing.value.message
        with pytest.raises(openai.BadRequestError) as inside:
            ask("gemini-guarded-flash", internal.url("pixel.png"))
        assert "is refused" in inside.value.message
        assert internal.paths == []
    finally:
        internal.close()
    # a redirect within what the guard accepts is followed
    reply = ask("gemini-guarded-flash", image_url.replace("/pixel.png", "/elsewhere"))
    assert reply.choices[0].message.content == "Echo: what is this [image]"


def test_a_server_refusing_stream_options_streams_with_estimated_usage(
    gateway: GatewayProcess, upstream: Any
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "strict-server")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
    upstream.clear()
    text = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(
            model="strict-llama",
            stream=True,
            messages=[{"role": "user", "content": "count my words please"}],
        )
        if chunk.choices
    )
    assert text == "Echo: count my words please"
    sent = [r.json for r in upstream.requests if r.path.endswith("/chat/completions")]
    assert sent[-1]["stream"] is True
    assert "stream_options" not in sent[-1]

    def audited() -> list[Any]:
        with gateway.admin() as admin:
            return admin.get("/audit", params={"actor": f"key:{tenant.key_id}"}).json()["rows"]

    row = eventually(audited)[0]
    assert row["data"]["usage_reported"] is False
    assert row["data"]["output_tokens"] > 0
