"""What the tests of the fake Anthropic upstream share: the conversation, tools and image they
send, what the fake must answer, and ways to call it with the SDK or raw."""

from __future__ import annotations

import json
from typing import Any

import anthropic
from anthropic.types import Message, MessageParam, ToolParam, ToolUseBlock

API_KEY = "sk-ant-test"
MODEL = "claude-haiku-4-5"
SYSTEM = "You are terse."
MESSAGES: list[MessageParam] = [
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "first answer"},
    {"role": "user", "content": [{"type": "text", "text": "What is the capital of France today?"}]},
]
QUESTION = "What is the capital of France today?"
EXPECTED_TEXT = "Echo: " + QUESTION
EXPECTED_INPUT_TOKENS = 3 + 2 + 2 + 7
TOOLS: list[ToolParam] = [
    {
        "name": "search",
        "description": "Search the web.",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
    {"name": "lookup", "input_schema": {"type": "object", "properties": {}}},
]
RAW_HEADERS = {"x-api-key": API_KEY, "anthropic-version": "2023-06-01"}
PNG_B64 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def create(client: anthropic.Anthropic, **overrides: Any) -> Message:
    kwargs: dict[str, Any] = {
        "model": MODEL,
        "max_tokens": 1024,
        "system": SYSTEM,
        "messages": MESSAGES,
    }
    kwargs.update(overrides)
    return client.messages.create(**kwargs)


def user_turn(text: str = "hi") -> list[MessageParam]:
    return [{"role": "user", "content": text}]


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    """Parse a complete SSE body into (event name, data) pairs, checking the framing."""
    frames = text.split("\n\n")
    assert frames[-1] == ""
    events = []
    for frame in frames[:-1]:
        event_line, data_line = frame.split("\n")
        assert event_line.startswith("event: ")
        assert data_line.startswith("data: ")
        events.append((event_line[7:], json.loads(data_line[6:])))
    return events


# -- tools ----------------------------------------------------------------------------------------


def only_tool_use(message: Message) -> ToolUseBlock:
    assert len(message.content) == 1
    block = message.content[0]
    assert isinstance(block, ToolUseBlock)
    return block


TRIP_TOOL: ToolParam = {
    "name": "Trip",
    "input_schema": {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "stops": {"type": "array", "items": {"$ref": "#/$defs/Stop"}},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["title", "stops", "note"],
        "additionalProperties": False,
        "$defs": {
            "Stop": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "nights": {"type": "integer"}},
            }
        },
    },
}


def tool_turns(tool_use_id: str, result: Any) -> list[MessageParam]:
    return [
        *MESSAGES,
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me search."},
                {
                    "type": "tool_use",
                    "id": tool_use_id,
                    "name": "search",
                    "input": {"query": QUESTION},
                },
            ],
        },
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use_id, "content": result}],
        },
    ]
