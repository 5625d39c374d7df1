"""What the tests of the fake OpenAI upstream share: the conversation and tools they send, and
what the fake must answer to them."""

from __future__ import annotations

import json

from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)

API_KEY = "sk-test"
MODEL = "gpt-4o-mini"
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "first question"},
    {"role": "assistant", "content": "first answer"},
    {"role": "user", "content": "What is the capital of France today?"},
]
EXPECTED_TEXT = "Echo: What is the capital of France today?"
EXPECTED_PROMPT_TOKENS = 3 + 2 + 2 + 7
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the web.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    },
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
        },
    },
]


def expected_arguments() -> str:
    return json.dumps({"query": "What is the capital of France today?"})


def only_function_call(completion: ChatCompletion) -> ChatCompletionMessageFunctionToolCall:
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert len(calls) == 1
    call = calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    return call


# -- errors ---------------------------------------------------------------------------------------


def user_turn(text: str = "hi") -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]
