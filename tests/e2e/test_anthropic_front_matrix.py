"""The other half of the matrix: the official `anthropic` SDK through `/v1/messages` to every
kind of upstream (natively to Anthropic, translated to the rest), with usage and cost checked."""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.images import PNG
from tests.support.matrix import ANTHROPIC_TOOLS, CHAT_MODELS, assert_usage_recorded
from tests.support.tenants import create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


class Cell:
    def __init__(self, gateway: GatewayProcess, model: str) -> None:
        with gateway.admin() as admin:
            self.tenant = create_tenant(admin, f"front-{model}")
        self.gateway = gateway
        self.model = model
        self.client = anthropic.Anthropic(
            base_url=gateway.base_url, api_key=self.tenant.key, max_retries=0
        )
        self.seen: list[Any] = []

    def create(self, messages: Any, **kwargs: Any) -> Any:
        reply = self.client.messages.create(
            model=self.model, max_tokens=256, messages=messages, **kwargs
        )
        self.seen.append(reply.usage)
        return reply

    def stream(self, messages: Any, **kwargs: Any) -> tuple[str, Any]:
        with self.client.messages.stream(
            model=self.model, max_tokens=256, messages=messages, **kwargs
        ) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        self.seen.append(final.usage)
        return text, final

    def check_usage_and_cost(self) -> None:
        assert_usage_recorded(
            self.gateway,
            self.tenant.key_id,
            self.model,
            [
                (
                    usage.input_tokens
                    + (usage.cache_read_input_tokens or 0)
                    + (usage.cache_creation_input_tokens or 0),
                    usage.cache_read_input_tokens or 0,
                    usage.output_tokens,
                )
                for usage in self.seen
            ],
        )


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_plain_and_streamed_text(gateway: GatewayProcess, model: str) -> None:
    cell = Cell(gateway, model)
    messages: Any = [{"role": "user", "content": "hello from the front"}]
    plain = cell.create(messages, system="You are terse.")
    assert plain.content[0].type == "text"
    assert plain.content[0].text == "Echo: hello from the front"
    assert plain.stop_reason == "end_turn"
    text, final = cell.stream(messages, system="You are terse.")
    assert text == plain.content[0].text
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == plain.usage.output_tokens
    cell.check_usage_and_cost()


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_tool_use_then_tool_result_turn(gateway: GatewayProcess, model: str) -> None:
    cell = Cell(gateway, model)
    question: Any = [{"role": "user", "content": "weather in Lyon"}]
    plain = cell.create(question, tools=ANTHROPIC_TOOLS)
    assert plain.stop_reason == "tool_use"
    use = next(block for block in plain.content if block.type == "tool_use")
    assert (use.name, use.input) == ("search", {"query": "weather in Lyon"})

    _, final = cell.stream(question, tools=ANTHROPIC_TOOLS)
    streamed = next(block for block in final.content if block.type == "tool_use")
    assert (streamed.name, streamed.input) == ("search", {"query": "weather in Lyon"})
    assert final.stop_reason == "tool_use"

    turn: Any = [
        *question,
        {
            "role": "assistant",
            "content": [{"type": "tool_use", "id": use.id, "name": "search", "input": use.input}],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": use.id, "content": "sunny and 21 degrees"}
            ],
        },
    ]
    answer = cell.create(turn, tools=ANTHROPIC_TOOLS)
    assert answer.content[0].text == "Echo: sunny and 21 degrees"
    assert answer.stop_reason == "end_turn"
    cell.check_usage_and_cost()


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_images_base64_and_url(gateway: GatewayProcess, model: str, image_url: str) -> None:
    cell = Cell(gateway, model)
    sources: list[Any] = [
        {"type": "base64", "media_type": "image/png", "data": base64.b64encode(PNG).decode()},
        {"type": "url", "url": image_url},
    ]
    for source in sources:
        reply = cell.create(
            [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "what is this"},
                        {"type": "image", "source": source},
                    ],
                }
            ]
        )
        assert reply.content[0].text == "Echo: what is this [image]"
    cell.check_usage_and_cost()


def test_count_tokens_native_and_estimated(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "count")
    client = anthropic.Anthropic(base_url=gateway.base_url, api_key=tenant.key, max_retries=0)
    messages: Any = [{"role": "user", "content": "one two three four"}]
    native = client.messages.count_tokens(model="claude-haiku-4-5", messages=messages)
    assert native.input_tokens == 4
    estimated = client.messages.count_tokens(model="gpt-4o-mini", messages=messages)
    assert estimated.input_tokens > 0


def test_errors_keep_the_anthropic_shape(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "front-errors")
    client = anthropic.Anthropic(base_url=gateway.base_url, api_key=tenant.key, max_retries=0)
    hello: Any = [{"role": "user", "content": "hi"}]
    with pytest.raises(anthropic.NotFoundError) as unknown:
        client.messages.create(model="no-such-model", max_tokens=10, messages=hello)
    assert unknown.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    bad = anthropic.Anthropic(base_url=gateway.base_url, api_key="fr-" + "y" * 43, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        bad.messages.create(model="gpt-4o-mini", max_tokens=10, messages=hello)
    with pytest.raises(anthropic.RateLimitError) as limited:
        client.messages.create(model="claude-rate-limited", max_tokens=10, messages=hello)
    assert limited.value.response.headers["retry-after"] == "7"


def test_the_native_path_passes_the_clients_protocol_headers(
    gateway: GatewayProcess, anthropic_upstream: Any
) -> None:
    from tests.conftest import UPSTREAM_KEY

    with gateway.admin() as admin:
        tenant = create_tenant(admin, "front-headers")
    client = anthropic.Anthropic(base_url=gateway.base_url, api_key=tenant.key, max_retries=0)
    anthropic_upstream.clear()
    client.messages.create(
        model="claude-haiku-4-5",
        max_tokens=16,
        messages=[{"role": "user", "content": "hi"}],
        extra_headers={"anthropic-beta": "fine-grained-tool-streaming-2025-05-14"},
    )
    (sent,) = [r for r in anthropic_upstream.requests if r.path == "/v1/messages"]
    assert sent.headers["anthropic-beta"] == "fine-grained-tool-streaming-2025-05-14"
    assert sent.headers["anthropic-version"] == client.default_headers["anthropic-version"]
    assert sent.headers["x-api-key"] == UPSTREAM_KEY  # the gateway's key, never the client's
    assert tenant.key not in str(sent.headers)
