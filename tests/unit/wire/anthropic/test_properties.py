"""Properties of the Anthropic translation: any body translates or is refused, a conversation keeps
its meaning, any event sequence gives chunks or an upstream error, and reading an answer or an
error never raises."""

from __future__ import annotations

import itertools
import json
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest, UpstreamError
from domains.providers.ports import Usage
from domains.providers.upstream_failures import Condition
from infrastructure.adapters.providers.anthropic_wire import (
    StreamTranslator,
    chat_request,
    chat_response,
    error_facts,
)
from tests.unit.wire.anthropic.strategies import (
    BODY,
    EVENT_DATA,
    EVENT_NAMES,
    JSON,
    conversations,
    meaning,
    to_openai,
)
from tests.unit.wire.anthropic.support import MESSAGE, assembled_calls


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.dictionaries(st.text(max_size=10), JSON, max_size=6) | BODY, stream=st.booleans())
def test_any_body_translates_or_is_refused_as_invalid(body: dict[str, Any], stream: bool) -> None:
    try:
        out = chat_request(body, "claude-x-1", max_tokens_default=512, stream=stream)
    except InvalidRequest as error:
        refusal: InvalidRequest | None = error
    else:
        refusal = None
    if refusal is not None:
        assert refusal.message
        return
    msgspec.json.encode(out)
    assert out["model"] == "claude-x-1"
    assert out["messages"][0]["role"] == "user"
    roles = [turn["role"] for turn in out["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles))
    thinking = out.get("thinking")
    if thinking is not None:  # only what Anthropic takes with thinking
        assert 1024 <= thinking["budget_tokens"] < out["max_tokens"]
        assert not {"temperature", "top_p", "top_k"} & set(out)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(body=conversations())
def test_a_conversation_keeps_its_meaning(body: dict[str, Any]) -> None:
    request = chat_request(body, "claude-x-1", max_tokens_default=512, stream=False)
    msgspec.json.encode(request)
    turns = request["messages"]
    assert turns[0]["role"] == "user"
    assert all(a["role"] != b["role"] for a, b in itertools.pairwise(turns))
    for turn in turns:
        assert turn["content"]
        for block in turn["content"]:
            assert block["type"] != "text" or block["text"]
            assert block["type"] != "tool_result" or turn["role"] == "user"
            assert block["type"] != "tool_use" or turn["role"] == "assistant"
    assert meaning(to_openai(request)) == meaning(body)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    events=st.lists(st.tuples(EVENT_NAMES, EVENT_DATA), max_size=25),
    include_usage=st.booleans(),
)
def test_any_event_sequence_gives_chunks_or_an_upstream_error(
    events: list[tuple[str, dict[str, Any]]], include_usage: bool
) -> None:
    translator = StreamTranslator(
        model="m", created=1, completion_id="chatcmpl-x", include_usage=include_usage
    )
    chunks: list[dict[str, Any]] = []
    failure: UpstreamError | None = None
    for name, data in events:
        try:
            chunks.extend(translator.feed(name, data))
        except UpstreamError as error:
            failure = error
            break
    assert failure is None or failure.status in (429, 502, 503)
    msgspec.json.encode(chunks)
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    indexes = sorted(assembled_calls(chunks))
    assert indexes == list(range(len(indexes)))
    assert translator.usage is None or isinstance(translator.usage, Usage)
    assert translator.output_chars >= translator.thinking_chars >= 0
    deltas = [choice["delta"] for chunk in chunks for choice in chunk["choices"]]
    for delta in deltas:
        assert isinstance(delta.get("reasoning_content", ""), str)
        for block in delta.get("thinking_blocks", ()):
            assert block["type"] in ("thinking", "redacted_thinking")
            assert all(isinstance(value, str) for value in block.values())


# (d) error bodies: never an exception.


@given(
    status=st.integers(0, 999),
    body=st.binary(max_size=200) | JSON.map(lambda value: json.dumps(value).encode()),
)
def test_error_facts_never_raises(status: int, body: bytes) -> None:
    condition, message = error_facts(status, body)
    assert condition in Condition
    assert message


@given(message=st.dictionaries(st.text(max_size=10), JSON, max_size=6) | st.just(MESSAGE))
def test_chat_response_never_raises(message: dict[str, Any]) -> None:
    body, usage = chat_response(message, model="m", created=1)
    msgspec.json.encode(body)
    assert usage.input_tokens >= usage.cached_tokens >= 0
