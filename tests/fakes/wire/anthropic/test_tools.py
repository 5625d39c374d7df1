"""Tool use, whole and streamed, forced choices, and the turn after a tool result."""

from __future__ import annotations

import json
import re

import anthropic
import pytest
from anthropic.types import MessageParam

from tests.fakes.wire.anthropic.support import (
    EXPECTED_TEXT,
    MESSAGES,
    MODEL,
    QUESTION,
    SYSTEM,
    TOOLS,
    TRIP_TOOL,
    create,
    only_tool_use,
    tool_turns,
)


def test_tool_use_plain(client: anthropic.Anthropic) -> None:
    message = create(client, tools=TOOLS)

    assert message.stop_reason == "tool_use"
    block = only_tool_use(message)
    assert block.type == "tool_use"
    assert re.fullmatch(r"toolu_[0-9a-f]{24}", block.id)
    assert block.name == "search"
    assert block.input == {"query": QUESTION}
    assert message.usage.output_tokens == len(json.dumps(block.input).split())

    again = create(client, tools=TOOLS)
    assert only_tool_use(again).id == block.id  # deterministic


def test_tool_choice_named_any_and_none(client: anthropic.Anthropic) -> None:
    named = create(client, tools=TOOLS, tool_choice={"type": "tool", "name": "lookup"})
    assert only_tool_use(named).name == "lookup"

    forced = create(client, tools=TOOLS, tool_choice={"type": "any"})
    assert only_tool_use(forced).name == "search"

    none = create(client, tools=TOOLS, tool_choice={"type": "none"})
    assert none.stop_reason == "end_turn"
    assert none.content[0].type == "text"
    assert none.content[0].text == EXPECTED_TEXT


def test_a_forced_tool_is_called_with_input_its_schema_accepts(client: anthropic.Anthropic) -> None:
    message = create(client, tools=[TRIP_TOOL], tool_choice={"type": "tool", "name": "Trip"})
    stop = {"city": QUESTION, "nights": len(QUESTION.split())}
    assert only_tool_use(message).input == {"title": QUESTION, "stops": [stop], "note": QUESTION}


def test_a_forced_choice_still_calls_a_tool_after_a_tool_result(
    client: anthropic.Anthropic,
) -> None:
    first = only_tool_use(create(client, tools=TOOLS, tool_choice={"type": "any"}))
    turn: list[MessageParam] = [
        *MESSAGES,
        {"role": "assistant", "content": [first.model_dump()]},  # type: ignore[list-item]
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": first.id}]},
    ]
    tools = [*TOOLS, TRIP_TOOL]
    after_any = create(client, messages=turn, tools=tools, tool_choice={"type": "any"})
    assert only_tool_use(after_any).name == "Trip"  # the last tool declared
    named = {"type": "tool", "name": "lookup"}
    assert only_tool_use(create(client, messages=turn, tools=tools, tool_choice=named)).name == (
        "lookup"
    )
    assert create(client, messages=turn, tools=tools).stop_reason == "end_turn"


def test_tool_use_streamed_matches_plain(client: anthropic.Anthropic) -> None:
    plain = create(client, tools=TOOLS)
    events = list(create(client, tools=TOOLS, stream=True))

    block_start = events[1]
    assert block_start.type == "content_block_start"
    assert block_start.content_block.type == "tool_use"
    assert block_start.content_block.input == {}
    plain_block = only_tool_use(plain)
    assert block_start.content_block.id == plain_block.id
    assert block_start.content_block.name == plain_block.name
    partial = [
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert len(partial) > 1
    assert json.loads("".join(partial)) == plain_block.input
    message_delta = events[-2]
    assert message_delta.type == "message_delta"
    assert message_delta.delta.stop_reason == "tool_use"

    with client.messages.stream(
        model=MODEL, max_tokens=1024, system=SYSTEM, messages=MESSAGES, tools=TOOLS
    ) as stream:
        final = stream.get_final_message()
    assert only_tool_use(final).input == plain_block.input
    assert final.usage.model_dump() == plain.usage.model_dump()


def test_tool_result_turn_is_answered_with_text(client: anthropic.Anthropic) -> None:
    tool_use_id = only_tool_use(create(client, tools=TOOLS)).id

    answer = create(client, tools=TOOLS, messages=tool_turns(tool_use_id, "Paris, as ever"))
    assert answer.stop_reason == "end_turn"
    assert answer.content[0].type == "text"
    assert answer.content[0].text == "Echo: Paris, as ever"
    # system 3 + history 11 + "Let me search." 3 + tool input JSON 8 + result 3
    assert answer.usage.input_tokens == 3 + 11 + 3 + 8 + 3

    blocks = create(
        client,
        tools=TOOLS,
        messages=tool_turns(
            tool_use_id, [{"type": "text", "text": "Paris"}, {"type": "text", "text": "(France)"}]
        ),
    )
    assert blocks.content[0].type == "text"
    assert blocks.content[0].text == "Echo: Paris (France)"

    with client.messages.stream(
        model=MODEL,
        max_tokens=1024,
        messages=tool_turns(tool_use_id, "Paris, as ever"),
        tools=TOOLS,
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: Paris, as ever"


def test_tool_result_must_answer_previous_tool_use(client: anthropic.Anthropic) -> None:
    turns = tool_turns("toolu_000000000000000000000001", "Paris")
    turns[-1] = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_unknown", "content": "Paris"}],
    }
    with pytest.raises(anthropic.BadRequestError) as info:
        create(client, tools=TOOLS, messages=turns)
    assert info.value.type == "invalid_request_error"
    assert "toolu_unknown" in str(info.value.api_message)

    # and every tool_use must be answered by the next message
    unanswered = [*turns[:-1], {"role": "user", "content": "never mind"}]
    with pytest.raises(anthropic.BadRequestError) as info:
        create(client, tools=TOOLS, messages=unanswered)
    assert "toolu_000000000000000000000001" in str(info.value.api_message)
