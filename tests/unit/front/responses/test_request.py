"""A Responses request becomes the chat request that asks the same: its conversation (messages,
function calls and outputs, images, files, a stored conversation before it), its tools and
parameters; what no chat upstream can do is refused, naming the parameter."""

from __future__ import annotations

import re
from typing import Any

import pytest

from interfaces.http.responses.translate_request import input_items, responses_to_chat, with_history
from tests.unit.front.responses.support import (
    PDF_DATA,
    PNG_URL,
    WEATHER,
    body,
    call_output,
    chat_call,
    function_call,
    input_text,
    message,
    output_text,
    refused,
)

# --- the conversation --------------------------------------------------------------------------


def test_a_string_input_is_one_user_message_after_the_instructions() -> None:
    chat = responses_to_chat(body("What is 2+2?", instructions="Be terse."))
    assert chat == {
        "model": "gpt-x",
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "What is 2+2?"},
        ],
    }


def test_messages_keep_their_roles_and_developer_becomes_system() -> None:
    chat = responses_to_chat(
        body(
            [
                message("developer", "Answer in French."),
                {"role": "user", "content": "hello"},  # an easy message: no type
                message("assistant", [output_text("bonjour")]),
                message("user", [input_text("and"), input_text("goodbye?")]),
            ]
        )
    )
    assert chat["messages"] == [
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "bonjour"},
        {"role": "user", "content": "and\n\ngoodbye?"},
    ]


def test_images_become_chat_image_parts() -> None:
    content = [
        input_text("What is in these?"),
        {"type": "input_image", "image_url": "https://example.com/cat.png", "detail": "low"},
        {"type": "input_image", "image_url": PNG_URL, "detail": "auto"},
    ]
    chat = responses_to_chat(body([message("user", content)]))
    assert chat["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in these?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.com/cat.png", "detail": "low"},
                },
                {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "auto"}},
            ],
        }
    ]


def test_an_image_by_openai_file_id_is_refused_with_its_parameter() -> None:
    image = {"type": "input_image", "file_id": "file-abc", "detail": "auto"}
    error = refused(body([message("user", [image])]))
    assert error.param == "input[0].content[0].file_id"
    assert "image_url" in str(error)


def test_a_file_with_its_data_becomes_a_chat_file_part() -> None:
    part = {"type": "input_file", "filename": "report.pdf", "file_data": PDF_DATA}
    chat = responses_to_chat(body([message("user", [input_text("Summarize"), part])]))
    assert chat["messages"][0]["content"][1] == {
        "type": "file",
        "file": {"file_data": PDF_DATA, "filename": "report.pdf"},
    }


def test_a_file_by_url_or_without_content_is_a_clear_refusal() -> None:
    by_url = {"type": "input_file", "file_url": "https://example.com/a.pdf"}
    error = refused(body([message("user", [by_url])]))
    assert error.param == "input[0].content[0].file_url"
    assert "file_data" in str(error)
    empty = refused(body([message("user", [{"type": "input_file", "filename": "a.pdf"}])]))
    assert empty.param == "input[0].content[0].file_data"


def test_a_function_call_round_trip_becomes_tool_calls_and_tool_messages() -> None:
    chat = responses_to_chat(
        body(
            [
                message("user", "Weather in Paris and Rome?"),
                message("assistant", [output_text("Let me check.")]),
                function_call("call_1"),
                function_call("call_2", arguments='{"city":"Rome"}'),
                call_output("call_1", "sunny"),
                call_output("call_2", [input_text("rain"), input_text("cold")]),
            ],
            tools=[WEATHER],
        )
    )
    assert chat["messages"] == [
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Let me check.",
            "tool_calls": [
                chat_call("call_1"),
                chat_call("call_2", arguments='{"city":"Rome"}'),
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        {"role": "tool", "tool_call_id": "call_2", "content": "rain\n\ncold"},
    ]


def test_images_of_a_call_output_follow_the_tool_messages_in_a_user_turn() -> None:
    screenshot = {"type": "input_image", "image_url": PNG_URL, "detail": "high"}
    chat = responses_to_chat(
        body(
            [
                message("user", "Look."),
                function_call("call_1", name="look", arguments="{}"),
                call_output("call_1", [input_text("here"), screenshot]),
                message("user", "And?"),
            ]
        )
    )
    assert [m["role"] for m in chat["messages"]] == ["user", "assistant", "tool", "user", "user"]
    assert chat["messages"][2]["content"] == "here"
    assert chat["messages"][3]["content"] == [
        {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "high"}}
    ]


def test_reasoning_items_are_left_out() -> None:
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "x"}
    chat = responses_to_chat(body([message("user", "hi"), reasoning, message("user", "again")]))
    assert chat["messages"] == [
        {"role": "user", "content": "hi"},
        {"role": "user", "content": "again"},
    ]


def test_a_stored_conversation_comes_before_the_input_and_after_the_instructions() -> None:
    history: list[dict[str, Any]] = [
        {
            "id": "msg_1",
            "type": "message",
            "role": "user",
            "content": [input_text("Hi, I am Ann.")],
        },
        {"id": "rs_1", "type": "reasoning", "summary": []},
        {
            "id": "msg_2",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [output_text("Hello Ann.")],
        },
    ]
    chat = responses_to_chat(body("What is my name?", instructions="Be kind."), history)
    assert chat["messages"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi, I am Ann."},
        {"role": "assistant", "content": "Hello Ann."},
        {"role": "user", "content": "What is my name?"},
    ]


def test_an_item_reference_reads_the_stored_item_it_names() -> None:
    history = [{"id": "fc_1", **function_call("call_1")}]
    chat = responses_to_chat(
        body([message("user", "Weather?"), {"type": "item_reference", "id": "fc_1"}]), history
    )
    assert chat["messages"][-1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [chat_call("call_1")],
    }
    error = refused(body([{"type": "item_reference", "id": "fc_9"}]), history=history)
    assert error.param == "input[0].id"


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        (body(42), "input"),
        (body([]), "input"),
        (body([message("system", "only instructions")]), "input"),
        (body([message("robot", "hi")]), "input[0].role"),
        (body([message("user", [{"type": "video", "url": "x"}])]), "input[0].content[0].type"),
        (body([{"type": "web_search_call", "id": "ws_1"}]), "input[0].type"),
        (body([function_call("")]), "input[0].call_id"),
        (body([message("user", [{"type": "input_image", "image_url": "ftp://x"}])]), None),
        ({"input": "hi"}, "model"),
        ([], None),
    ],
)
def test_bad_input_is_refused_naming_the_parameter(request_body: object, param: str | None) -> None:
    error = refused(request_body)
    if param is not None:
        assert error.param == param
    assert str(error)


def test_a_stored_item_that_cannot_be_sent_names_the_stored_conversation() -> None:
    history = [{"id": "ws_1", "type": "web_search_call", "status": "completed"}]
    assert refused(body("hi"), history=history).param == "previous_response_id[0].type"


# --- tools -------------------------------------------------------------------------------------


def test_function_tools_and_their_choice_become_chat_tools() -> None:
    chat = responses_to_chat(
        body(
            tools=[WEATHER],
            tool_choice={"type": "function", "name": "weather"},
            parallel_tool_calls=False,
        )
    )
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "description": "The weather in a city.",
                "parameters": WEATHER["parameters"],
                "strict": True,
            },
        }
    ]
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "weather"}}
    assert chat["parallel_tool_calls"] is False
    for choice in ("auto", "none", "required"):
        assert responses_to_chat(body(tools=[WEATHER], tool_choice=choice))["tool_choice"] == choice


def test_allowed_tools_narrow_the_tools_sent() -> None:
    clock = {"type": "function", "name": "clock", "parameters": {"type": "object"}}
    choice = {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "clock"}],
    }
    chat = responses_to_chat(body(tools=[WEATHER, clock], tool_choice=choice))
    assert [tool["function"]["name"] for tool in chat["tools"]] == ["clock"]
    assert chat["tool_choice"] == "required"


@pytest.mark.parametrize(
    "tool",
    [
        {"type": "web_search"},
        {"type": "web_search_preview"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "code_interpreter", "container": {"type": "auto"}},
        {
            "type": "computer_use_preview",
            "display_width": 1,
            "display_height": 1,
            "environment": "linux",
        },
        {"type": "image_generation"},
        {"type": "mcp", "server_label": "x", "server_url": "https://x"},
        {"type": "custom", "name": "grammar"},
    ],
)
def test_a_built_in_tool_is_refused_naming_it(tool: dict[str, object]) -> None:
    error = refused(body(tools=[WEATHER, tool]))
    assert error.param == "tools"
    assert f"`{tool['type']}`" in str(error)


def test_for_openai_itself_built_in_tools_are_left_to_it() -> None:
    estimate = responses_to_chat(
        body(
            [
                message("user", [{"type": "input_image", "file_id": "file-1", "detail": "auto"}]),
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
            ],
            tools=[{"type": "web_search"}],
            tool_choice={"type": "web_search_preview"},
            background=True,
        ),
        native=True,
    )
    assert "tools" not in estimate
    assert estimate["messages"] == [{"role": "user", "content": "[image]"}]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"tools": {"type": "function"}}, "tools"),
        ({"tools": [{"type": "function"}]}, "tools[0].name"),
        ({"tools": [{**WEATHER, "parameters": "x"}]}, "tools[0].parameters"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [WEATHER], "tool_choice": "sometimes"}, "tool_choice"),
        (
            {"tools": [WEATHER], "tool_choice": {"type": "function", "name": "clock"}},
            "tool_choice.name",
        ),
        ({"tools": [WEATHER], "tool_choice": {"type": "file_search"}}, "tool_choice"),
        ({"tools": [WEATHER], "parallel_tool_calls": "yes"}, "parallel_tool_calls"),
    ],
)
def test_bad_tools_are_refused_naming_the_parameter(extra: dict[str, object], param: str) -> None:
    assert refused(body(**extra)).param == param


# --- parameters --------------------------------------------------------------------------------


def test_parameters_map_onto_their_chat_fields() -> None:
    chat = responses_to_chat(
        body(
            temperature=0.3,
            top_p=0.9,
            max_output_tokens=200,
            user="u-1",
            safety_identifier="s-1",
            reasoning={"effort": "high", "summary": "auto"},
            text={"verbosity": "low"},
            metadata={"k": "v"},
            store=False,
            include=["reasoning.encrypted_content"],
            truncation="auto",
            previous_response_id="resp_1",
            stream=True,
        )
    )
    assert chat == {
        "model": "gpt-x",
        "messages": [{"role": "user", "content": "hi"}],
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 200,
        "user": "u-1",
        "safety_identifier": "s-1",
        "reasoning_effort": "high",
        "verbosity": "low",
        "stream": True,
        "stream_options": {"include_usage": True},
    }


def test_a_json_schema_format_becomes_the_chat_response_format() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]}
    fmt = {
        "type": "json_schema",
        "name": "answer",
        "schema": schema,
        "strict": True,
        "description": "d",
    }
    chat = responses_to_chat(body(text={"format": fmt}))
    assert chat["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True, "description": "d"},
    }
    assert responses_to_chat(body(text={"format": {"type": "json_object"}}))["response_format"] == {
        "type": "json_object"
    }
    assert "response_format" not in responses_to_chat(body(text={"format": {"type": "text"}}))


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"temperature": 3}, "temperature"),
        ({"top_p": "high"}, "top_p"),
        ({"temperature": 10**400}, "temperature"),
        ({"max_output_tokens": 0}, "max_output_tokens"),
        ({"max_output_tokens": True}, "max_output_tokens"),
        ({"text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
        ({"text": {"format": {"type": "json_schema", "name": "a"}}}, "text.format.schema"),
        ({"text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({"reasoning": {"effort": "extreme"}}, "reasoning.effort"),
        ({"reasoning": {"summary": "long"}}, "reasoning.summary"),
        ({"instructions": ["a"]}, "instructions"),
        ({"metadata": "m"}, "metadata"),
        ({"stream": "yes"}, "stream"),
        ({"truncation": "middle"}, "truncation"),
        ({"background": True}, "background"),
        ({"conversation": "conv_1"}, "conversation"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
    ],
)
def test_bad_parameters_are_refused_naming_them(extra: dict[str, object], param: str) -> None:
    assert refused(body(**extra)).param == param


# --- the input as stored items -----------------------------------------------------------------


def test_input_items_are_the_input_as_items_with_ids() -> None:
    items = input_items(
        body(
            [
                {"role": "user", "content": "hi"},
                message("assistant", "hello", id="msg_given"),
                function_call("call_1"),
                call_output("call_1", "sunny"),
                {"type": "item_reference", "id": "fc_1"},
            ]
        )
    )
    assert [item["type"] for item in items] == [
        "message",
        "message",
        "function_call",
        "function_call_output",
        "item_reference",
    ]
    assert items[0]["content"] == [input_text("hi")]
    assert items[0]["status"] == "completed"
    assert items[1]["id"] == "msg_given"
    assert items[1]["content"] == [output_text("hello")]
    assert re.fullmatch(r"msg_[0-9a-f]{48}", items[0]["id"])
    assert re.fullmatch(r"fc_[0-9a-f]{48}", items[2]["id"])
    assert items[2]["call_id"] == "call_1"
    assert items[4] == {"id": "fc_1", "type": "item_reference"}
    assert len({item["id"] for item in items}) == 5


def test_a_string_input_is_one_stored_user_message() -> None:
    [item] = input_items(body("hello"))
    assert item["type"] == "message"
    assert item["role"] == "user"
    assert item["content"] == [input_text("hello")]
    assert input_items({"model": "m"}) == []


# --- a stored conversation passed natively -----------------------------------------------------


def test_a_stored_conversation_goes_natively_as_input_items() -> None:
    history: list[dict[str, Any]] = [
        {
            "id": "msg_1",
            "type": "message",
            "status": "completed",
            "role": "user",
            "content": [input_text("Hi")],
        },
        {"id": "rs_1", "type": "reasoning", "summary": []},
        {"id": "rs_2", "type": "reasoning", "summary": [], "encrypted_content": "e"},
        {"id": "fc_1", "type": "function_call", "status": "completed", **function_call("call_1")},
    ]
    sent = with_history(
        body(
            [{"type": "item_reference", "id": "msg_1"}, call_output("call_1", "sunny")],
            previous_response_id="resp_1",
            store=False,
        ),
        history,
    )
    assert "previous_response_id" not in sent
    assert sent["store"] is False
    assert sent["input"] == [
        {"type": "message", "role": "user", "content": [input_text("Hi")]},
        {"id": "rs_2", "type": "reasoning", "summary": [], "encrypted_content": "e"},
        function_call("call_1"),
        {"type": "message", "role": "user", "content": [input_text("Hi")]},
        call_output("call_1", "sunny"),
    ]
    assert with_history(body("hello"), [])["input"] == [{"role": "user", "content": "hello"}]
