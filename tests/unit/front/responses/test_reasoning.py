"""Reasoning through the translated Responses API: a chat answer's `reasoning_content` and
`thinking_blocks` become a `reasoning` item (its summary when asked, its thinking blocks as
`encrypted_content`), whole and streamed in the exact event order the official SDK assembles;
a reasoning item sent back gives its thinking to the next assistant message."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.types.responses import Response

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.anthropic_request import chat_request as anthropic_request
from interfaces.http.responses.reasoning_items import (
    ENCRYPTED_PREFIX,
    encrypted_content,
    thinking_of,
)
from interfaces.http.responses.translate_request import (
    responses_to_chat,
    with_history,
    without_gateway_reasoning,
)
from interfaces.http.responses.translate_response import chat_to_response, item_id
from interfaces.http.responses.translate_stream import encode_event
from tests.support import openai_spec
from tests.unit.front.responses.strategies import words
from tests.unit.front.responses.support import (
    USAGE_CHUNK,
    WEATHER,
    assert_valid_sequence,
    chunk,
    piece,
    sse_events,
)
from tests.unit.front.responses.test_stream import sdk_client, translate

SIGNED = {"type": "thinking", "thinking": "Sky, light, scattering.", "signature": "sig-1"}
SUMMARY = {
    "model": "claude-x",
    "input": "Why blue?",
    "reasoning": {"effort": "high", "summary": "auto"},
}
NO_SUMMARY = {"model": "claude-x", "input": "Why blue?", "reasoning": {"effort": "high"}}


def completion(message: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "claude-x",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 30,
            "total_tokens": 40,
            "completion_tokens_details": {"reasoning_tokens": 6},
        },
    }


def respond(message: dict[str, Any], request: dict[str, Any] = SUMMARY) -> dict[str, Any]:
    return chat_to_response(
        completion(message), request, response_id="resp_1", created_at=1_700_000_000, model="m"
    )


ANSWER = {
    "role": "assistant",
    "content": "Because of Rayleigh scattering.",
    "reasoning_content": SIGNED["thinking"],
    "thinking_blocks": [SIGNED],
}


def test_the_reasoning_is_the_first_item_with_its_summary_and_blocks() -> None:
    response = respond(ANSWER)
    reasoning, message = response["output"]
    assert reasoning == {
        "id": item_id("reasoning", "resp_1", 0),
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": SIGNED["thinking"]}],
        "encrypted_content": encrypted_content([SIGNED]),
        "status": "completed",
    }
    assert reasoning["id"].startswith("rs_")
    assert message["id"] == item_id("message", "resp_1", 1)
    assert message["content"][0]["text"] == "Because of Rayleigh scattering."
    assert response["usage"]["output_tokens_details"] == {"reasoning_tokens": 6}
    assert response["reasoning"] == {"effort": "high", "summary": "auto"}
    openai_spec.validate(response, "Response")
    parsed = Response.model_validate(response)
    assert parsed.output[0].type == "reasoning"
    assert parsed.output_text == "Because of Rayleigh scattering."


def test_without_a_summary_asked_the_item_has_none() -> None:
    reasoning = respond(ANSWER, NO_SUMMARY)["output"][0]
    assert reasoning["summary"] == []
    assert thinking_of(reasoning, "input[0]") == [SIGNED]  # the blocks still travel


def test_gemini_thoughts_have_no_encrypted_content() -> None:
    message = {"role": "assistant", "content": "Blue.", "reasoning_content": "Thought summary."}
    reasoning = respond(message)["output"][0]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Thought summary."}]
    assert reasoning["encrypted_content"] is None


def test_an_answer_without_reasoning_has_no_reasoning_item() -> None:
    output = respond({"role": "assistant", "content": "Blue."})["output"]
    assert [item["type"] for item in output] == ["message"]
    assert output[0]["id"] == item_id("message", "resp_1", 0)


REASONING_CHUNKS = [
    chunk({"role": "assistant", "content": ""}),
    chunk({"reasoning_content": "Sky, light, "}),
    chunk({"reasoning_content": "scattering."}),
    chunk({"thinking_blocks": [SIGNED]}),
    chunk({"content": "Because of "}),
    chunk({"content": "Rayleigh scattering."}),
    chunk({}, "stop"),
    USAGE_CHUNK,
]


def test_a_streamed_summary_follows_the_documented_event_order() -> None:
    events = translate(REASONING_CHUNKS, SUMMARY)
    assert_valid_sequence(events)
    kinds = [event["type"] for event in events]
    assert kinds[2:10] == [
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
    ]
    added, part_added, first, _, text_done, part_done, done = events[2:9]
    rid = item_id("reasoning", "resp_1", 0)
    assert added["item"] == {
        "id": rid,
        "type": "reasoning",
        "summary": [],
        "encrypted_content": None,
        "status": "in_progress",
    }
    where = {"item_id": rid, "output_index": 0, "summary_index": 0}
    assert part_added == {
        "type": "response.reasoning_summary_part.added",
        "sequence_number": 3,
        **where,
        "part": {"type": "summary_text", "text": ""},
    }
    assert first == {
        "type": "response.reasoning_summary_text.delta",
        "sequence_number": 4,
        **where,
        "delta": "Sky, light, ",
    }
    assert text_done["text"] == part_done["part"]["text"] == SIGNED["thinking"]
    assert done["item"]["summary"] == [{"type": "summary_text", "text": SIGNED["thinking"]}]
    assert done["item"]["encrypted_content"] == encrypted_content([SIGNED])
    # the stream's items are the whole answer's
    assert events[-1]["response"]["output"] == respond(ANSWER)["output"]
    sse = b"".join(encode_event(event) for event in events)
    openai_spec.validate_stream(sse_events(sse), openai_spec.RESPONSE_EVENTS)


def test_without_a_summary_asked_the_stream_has_no_summary_events() -> None:
    events = translate(REASONING_CHUNKS, NO_SUMMARY)
    assert_valid_sequence(events)
    kinds = [event["type"] for event in events]
    assert not any("reasoning_summary" in kind for kind in kinds)
    assert events[-1]["response"]["output"][0]["summary"] == []


def test_the_sdk_assembles_the_streamed_reasoning() -> None:
    sse = b"".join(encode_event(event) for event in translate(REASONING_CHUNKS, SUMMARY))
    with sdk_client(sse).responses.stream(model="claude-x", input="x") as stream:
        deltas = [e.delta for e in stream if e.type == "response.reasoning_summary_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == SIGNED["thinking"]
    reasoning = final.output[0]
    assert reasoning.type == "reasoning"
    assert [part.text for part in reasoning.summary] == [SIGNED["thinking"]]
    assert final.output_text == "Because of Rayleigh scattering."
    assert final.usage is not None
    assert final.usage.output_tokens_details.reasoning_tokens == 4


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(words, min_size=1, max_size=5), st.lists(words, max_size=3), st.booleans())
def test_any_streamed_reasoning_reassembles_in_the_sdk(
    thoughts: list[str], texts: list[str], with_call: bool
) -> None:
    chunks = [chunk({"reasoning_content": t}) for t in thoughts]
    chunks += [chunk({"content": t}) for t in texts]
    if with_call:
        chunks.append(piece("{}", id="call_1", name="weather"))
    chunks += [chunk({}, "stop"), USAGE_CHUNK]
    events = translate(chunks, SUMMARY)
    assert_valid_sequence(events)
    sse = b"".join(encode_event(event) for event in events)
    with sdk_client(sse).responses.stream(model="claude-x", input="x") as stream:
        final = stream.get_final_response()
    assert final.output[0].type == "reasoning"
    assert final.output[0].summary[0].text == "".join(thoughts)
    assert final.output_text == "".join(texts)


# --- reasoning sent back -----------------------------------------------------------------------


def _turn(reasoning: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": "claude-x",
        "tools": [WEATHER],
        "reasoning": {"effort": "high"},
        "input": [
            {"role": "user", "content": "Weather in Paris?"},
            reasoning,
            {
                "type": "function_call",
                "call_id": "toolu_1",
                "name": "weather",
                "arguments": '{"city":"Paris"}',
            },
            {"type": "function_call_output", "call_id": "toolu_1", "output": "sunny"},
        ],
    }


def test_a_reasoning_item_gives_its_thinking_back_to_claude() -> None:
    item = respond(ANSWER)["output"][0]
    chat = responses_to_chat(_turn(item))
    assistant = chat["messages"][1]
    assert assistant["thinking_blocks"] == [SIGNED]
    sent = anthropic_request(chat, "claude-sonnet-4-5", max_tokens_default=20_000, stream=False)
    assert sent["messages"][1]["content"][0] == SIGNED
    assert sent["thinking"]["type"] == "enabled"  # the tool loop may think: its thinking is back


def test_another_upstreams_reasoning_is_left_out() -> None:
    for content in ("gAAAAB-openai-encrypted", None):
        item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": content}
        chat = responses_to_chat(_turn(item))
        assert "thinking_blocks" not in chat["messages"][1]
        sent = anthropic_request(chat, "claude-sonnet-4-5", max_tokens_default=20_000, stream=False)
        assert "thinking" not in sent  # Anthropic would refuse a tool loop without its thinking


@pytest.mark.parametrize(
    "content",
    [
        ENCRYPTED_PREFIX + "not base64 !",
        ENCRYPTED_PREFIX + "e30=",  # {}
        encrypted_content([{"type": "thinking", "thinking": "x", "signature": ""}]),
        encrypted_content([{"type": "text", "text": "x"}]),
    ],
)
def test_a_broken_reasoning_item_of_the_gateway_is_refused(content: str | None) -> None:
    item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": content}
    with pytest.raises(InvalidRequest) as caught:
        responses_to_chat(_turn(item))
    assert caught.value.param == "input[1].encrypted_content"


@given(st.text(max_size=40))
def test_any_encrypted_content_is_read_or_refused_as_invalid(junk: str) -> None:
    item = {"encrypted_content": ENCRYPTED_PREFIX + junk}
    refusal: InvalidRequest | None = None
    blocks: list[dict[str, Any]] = []
    try:
        blocks = thinking_of(item, "input[0]")
    except InvalidRequest as error:
        refusal = error
    if refusal is not None:
        assert refusal.param == "input[0].encrypted_content"
    assert all(block["type"] in ("thinking", "redacted_thinking") for block in blocks)


def test_claudes_reasoning_is_not_passed_natively_to_openai() -> None:
    claude = respond(ANSWER)["output"][0]
    openai_own = {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "gAAA"}
    body = {"model": "gpt-x", "input": [claude, openai_own, {"role": "user", "content": "more"}]}
    sent = without_gateway_reasoning(body)
    assert sent["input"] == [openai_own, {"role": "user", "content": "more"}]
    assert without_gateway_reasoning(sent) is sent  # nothing to leave out: the body itself
    # nor from a stored conversation continued natively, referenced or not
    history = [{**claude, "id": "rs_1"}, {**openai_own, "id": "rs_2"}]
    referenced = {"model": "gpt-x", "input": [{"type": "item_reference", "id": "rs_1"}]}
    continued = without_gateway_reasoning(with_history(referenced, history))
    assert continued["input"] == [{**openai_own, "id": "rs_2"}]


def test_a_conversation_kept_on_a_socket_carries_claudes_reasoning_to_claude() -> None:
    claude, answer = respond(ANSWER)["output"]
    history = [{"role": "user", "content": "Why blue?"}, claude, answer]
    body = with_history({"model": "claude-x", "input": "And red?"}, history)
    assert claude in body["input"]  # kept for a translated upstream, which reads it
    chat = responses_to_chat(body)
    assert chat["messages"][1]["thinking_blocks"] == [SIGNED]
