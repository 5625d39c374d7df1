"""Reasoning through the running gateway to Claude and Gemini, on both shapes, with the official
`openai` SDK: `reasoning` on `/v1/responses` and `reasoning_effort` on `/v1/chat/completions`
reach the fakes as thinking (Anthropic's `thinking`, Gemini's `thinkingConfig`), and their
thinking comes back as a reasoning item with its summary, whole and streamed, as
`reasoning_content` in chat, with reasoning tokens in the usage; a Claude tool loop continued
with `previous_response_id` sends its signed thinking back."""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import openai
import pytest
from httpx_sse import connect_sse

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.anthropic_upstream.thinking import signature_of
from tests.fakes.gemini_upstream import FakeGemini
from tests.support.gateway import GatewayProcess
from tests.support.matrix import SEARCH_SCHEMA, assert_usage_recorded
from tests.support.openai_spec import RESPONSE_EVENTS, validate_answer, validate_stream
from tests.support.tenants import create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]

# Without a limit, Anthropic is asked for its adapter's default max_tokens, 4,096, of which half
# at most thinks (claude-haiku-4-5 is capped at 1,024 output tokens: too few for Anthropic's
# smallest budget, 1,024); Gemini takes the budget of the effort, high: 24,576.
DEFAULT_OUTPUT = 4096
BUDGETS = {
    "claude-sonnet-4-5": DEFAULT_OUTPUT // 2,
    "claude-opus-4-7": 0,  # adaptive: no budget, max_tokens bounds it
    "gemini-2.5-flash": 24576,
}
MODELS = ["claude-sonnet-4-5", "claude-opus-4-7", "gemini-2.5-flash"]
TOOLS: Any = [{"type": "function", "name": "search", "parameters": SEARCH_SCHEMA, "strict": False}]
HIGH = {"effort": "high", "summary": "auto"}


@pytest.fixture
def fakes(anthropic_upstream: FakeAnthropic, gemini_upstream: FakeGemini) -> dict[str, Any]:
    return {
        "claude-sonnet-4-5": anthropic_upstream,
        "claude-opus-4-7": anthropic_upstream,
        "gemini-2.5-flash": gemini_upstream,
    }


def _client(gateway: GatewayProcess) -> tuple[openai.OpenAI, str]:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"reasoning-{secrets.token_hex(3)}")
    client = openai.OpenAI(base_url=f"{gateway.base_url}/v1", api_key=tenant.key, max_retries=0)
    return client, tenant.key_id


def _sent(fake: Any, marker: str) -> list[dict[str, Any]]:
    return [
        r.json for r in fake.requests if isinstance(r.json, dict) and marker in json.dumps(r.json)
    ]


def _asked_to_think(model: str, body: dict[str, Any], budget: int, most: int) -> None:
    if model == "claude-opus-4-7":  # adaptive, its thinking shown (4.7 hides it by default)
        assert body["thinking"] == {"type": "adaptive", "display": "summarized"}
        assert body["output_config"] == {"effort": "high"}
        assert body["max_tokens"] == most
    elif model.startswith("claude"):
        assert body["thinking"] == {"type": "enabled", "budget_tokens": budget}
        assert body["max_tokens"] == most
    else:
        config = body["generationConfig"]
        assert config["thinkingConfig"] == {"thinkingBudget": budget, "includeThoughts": True}
        assert config.get("maxOutputTokens") == (None if most == DEFAULT_OUTPUT else most)


def _reasoning_tokens(model: str, thought: str, output_tokens: int) -> int:
    """What the usage says of the fake's thinking: Gemini counts it (a token a word in the
    fake); Anthropic does not, and the gateway estimates it from the text (4 characters a
    token, within the output tokens: the fake counts a token a word, fewer)."""
    if model.startswith("claude"):
        return min(-(-len(thought) // 4), output_tokens)
    return len(thought.split())


@pytest.mark.parametrize("model", MODELS)
def test_responses_reasoning_comes_back_summarized_whole_and_streamed(
    gateway: GatewayProcess, fakes: dict[str, Any], model: str
) -> None:
    client, key_id = _client(gateway)
    marker = f"why-blue-{secrets.token_hex(3)}"
    thought = f"Thinking about: {marker}"

    plain = client.responses.create(model=model, input=marker, reasoning=HIGH)
    reasoning, message = plain.output
    assert reasoning.type == "reasoning"
    assert [part.text for part in reasoning.summary] == [thought]
    assert (reasoning.encrypted_content is not None) == model.startswith("claude")
    assert message.type == "message"
    assert plain.output_text == f"Echo: {marker}"
    assert plain.reasoning is not None
    assert (plain.reasoning.effort, plain.reasoning.summary) == ("high", "auto")
    assert plain.usage is not None
    assert plain.usage.output_tokens_details.reasoning_tokens == _reasoning_tokens(
        model, thought, plain.usage.output_tokens
    )
    assert plain.usage.output_tokens_details.reasoning_tokens > 0

    with client.responses.stream(model=model, input=marker, reasoning=HIGH) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    reasoning_events = [kind for kind in kinds if "reasoning_summary" in kind]
    assert reasoning_events[0] == "response.reasoning_summary_part.added"
    assert reasoning_events[-2:] == [
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
    ]
    assert "response.reasoning_summary_text.delta" in reasoning_events
    assert kinds.index("response.reasoning_summary_part.done") < kinds.index(
        "response.output_text.delta"
    )
    assert final.output[0].type == "reasoning"
    assert [part.text for part in final.output[0].summary] == [thought]
    assert final.output_text == plain.output_text
    assert final.usage is not None
    assert final.usage.output_tokens_details.reasoning_tokens == (
        plain.usage.output_tokens_details.reasoning_tokens
    )
    assert final.usage.output_tokens == plain.usage.output_tokens

    # the upstream was asked to think, both times; the thinking is billed as output
    sent = _sent(fakes[model], marker)
    assert len(sent) == 2
    for body in sent:
        _asked_to_think(model, body, BUDGETS[model], DEFAULT_OUTPUT)
    assert_usage_recorded(
        gateway,
        key_id,
        model,
        [
            (u.input_tokens, u.input_tokens_details.cached_tokens, u.output_tokens)
            for u in (plain.usage, final.usage)
        ],
    )


@pytest.mark.parametrize("model", MODELS)
def test_chat_reasoning_effort_thinks_and_answers_reasoning_content(
    gateway: GatewayProcess, fakes: dict[str, Any], model: str
) -> None:
    client, _ = _client(gateway)
    marker = f"chat-blue-{secrets.token_hex(3)}"
    thought = f"Thinking about: {marker}"
    messages: Any = [{"role": "user", "content": marker}]

    # a limit of 3,000 output tokens: thinking takes half of it at most, on both
    answer = client.chat.completions.create(
        model=model, messages=messages, reasoning_effort="high", temperature=0.3, max_tokens=3000
    )
    said = answer.choices[0].message
    assert said.content == f"Echo: {marker}"
    assert (said.model_extra or {})["reasoning_content"] == thought
    assert answer.usage is not None
    assert answer.usage.completion_tokens_details is not None
    assert answer.usage.completion_tokens_details.reasoning_tokens == _reasoning_tokens(
        model, thought, answer.usage.completion_tokens
    )

    chunks = list(
        client.chat.completions.create(
            model=model,
            messages=messages,
            reasoning_effort="high",
            max_tokens=3000,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    deltas = [chunk.choices[0].delta for chunk in chunks if chunk.choices]
    assert "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas) == thought
    assert "".join(d.content or "" for d in deltas) == f"Echo: {marker}"
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == _reasoning_tokens(
        model, thought, usage.completion_tokens
    )

    sent = _sent(fakes[model], marker)
    assert len(sent) == 2
    for body in sent:
        _asked_to_think(model, body, 1500, 3000)
    if model.startswith("claude"):  # Claude takes no temperature with thinking: not sent
        assert "temperature" not in sent[0]


def test_a_claude_tool_loop_sends_its_signed_thinking_back(
    gateway: GatewayProcess, anthropic_upstream: FakeAnthropic
) -> None:
    client, _ = _client(gateway)
    marker = f"tool-loop-{secrets.token_hex(3)}"
    model = "claude-sonnet-4-5"
    asked = client.responses.create(model=model, input=marker, tools=TOOLS, reasoning=HIGH)
    reasoning, call = asked.output
    assert reasoning.type == "reasoning"
    assert call.type == "function_call"
    assert reasoning.encrypted_content

    answered = client.responses.create(
        model=model,
        previous_response_id=asked.id,
        tools=TOOLS,
        reasoning=HIGH,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert answered.output_text == "Echo: sunny"
    first, second = _sent(anthropic_upstream, marker)
    budget = {"type": "enabled", "budget_tokens": BUDGETS[model]}
    assert first["thinking"] == second["thinking"] == budget
    thought = f"Thinking about: {marker}"
    # the assistant turn starts with the thinking Claude signed, as Anthropic requires
    assistant = second["messages"][1]
    assert assistant["content"][0] == {
        "type": "thinking",
        "thinking": thought,
        "signature": signature_of(thought),
    }
    assert assistant["content"][1]["type"] == "tool_use"

    # without it (a client that drops reasoning items), the loop goes on without thinking
    bare = client.responses.create(
        model=model,
        store=False,
        tools=TOOLS,
        reasoning=HIGH,
        input=[
            {"role": "user", "content": f"{marker}-bare"},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": "rainy"},
        ],
    )
    assert bare.output_text == "Echo: rainy"
    (sent,) = _sent(anthropic_upstream, f"{marker}-bare")
    assert "thinking" not in sent


@pytest.mark.parametrize("model", MODELS)
def test_answers_with_reasoning_are_what_openais_document_allows(
    gateway: GatewayProcess, model: str
) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, f"reasoning-spec-{secrets.token_hex(3)}")
    body = {"model": model, "input": "spec blue", "reasoning": HIGH, "store": False}
    headers = {"Authorization": f"Bearer {tenant.key}"}
    with httpx.Client(base_url=gateway.base_url, headers=headers, timeout=30) as http:
        response = validate_answer(http.post("/v1/responses", json=body), "Response")
        assert response["output"][0]["type"] == "reasoning"
        with connect_sse(http, "POST", "/v1/responses", json={**body, "stream": True}) as source:
            events = validate_stream(source.iter_sse(), RESPONSE_EVENTS)
    assert "response.reasoning_summary_text.delta" in [event["type"] for event in events]
