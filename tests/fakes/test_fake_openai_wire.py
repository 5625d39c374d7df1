"""The fake OpenAI upstream must be parseable, field for field, by the official ``openai`` SDK."""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)

from tests.fakes.openai_upstream import FakeOpenAI

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


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(slow_seconds=1.0) as server:
        yield server


@pytest.fixture(scope="module")
def client(fake: FakeOpenAI) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=fake.base_url, api_key=API_KEY, max_retries=0) as c:
        yield c


# -- chat -----------------------------------------------------------------------------------------


def test_base_url_points_at_ephemeral_port(fake: FakeOpenAI) -> None:
    assert fake.port > 0
    assert fake.base_url == f"http://127.0.0.1:{fake.port}/v1"


def test_plain_chat(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert completion.model == MODEL
    assert completion.system_fingerprint == "fp_fake"
    assert isinstance(completion.created, int)
    assert completion.created > 0
    (choice,) = completion.choices
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == EXPECTED_TEXT
    assert choice.message.refusal is None
    assert choice.message.tool_calls is None
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == EXPECTED_PROMPT_TOKENS
    assert usage.completion_tokens == len(EXPECTED_TEXT.split())
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.reasoning_tokens == 0


def test_content_parts_join_text_and_image(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model=MODEL,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "describe"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                    {"type": "text", "text": "please"},
                ],
            }
        ],
    )
    assert completion.choices[0].message.content == "Echo: describe [image] please"
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == 3


def test_streamed_chat_matches_plain(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES)
    stream = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    assert len({c.id for c in chunks}) == 1
    assert chunks[0].id.startswith("chatcmpl-")
    assert len({c.created for c in chunks}) == 1
    assert {c.model for c in chunks} == {MODEL}

    first, *middle, finish, usage_chunk = chunks
    assert first.choices[0].delta.role == "assistant"
    assert first.choices[0].delta.content == ""
    # one chunk per word of the reply
    assert len(middle) == len(EXPECTED_TEXT.split())
    assert all(c.choices[0].finish_reason is None for c in [first, *middle])
    assert all(c.usage is None for c in chunks[:-1])
    assert finish.choices[0].finish_reason == "stop"
    assert finish.choices[0].delta.content is None
    assert usage_chunk.choices == []

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content == EXPECTED_TEXT
    assert usage_chunk.usage is not None
    assert plain.usage is not None
    assert usage_chunk.usage.model_dump() == plain.usage.model_dump()


def test_stream_without_include_usage_has_no_usage_chunk(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True))
    assert all(c.choices for c in chunks)
    assert all(c.usage is None for c in chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_stream_is_sse_with_done_terminator(fake: FakeOpenAI) -> None:
    response = httpx.post(
        f"{fake.base_url}/chat/completions",
        headers={"Authorization": f"Bearer {API_KEY}"},
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = response.text.split("\n\n")
    assert events[-1] == ""
    assert events[-2] == "data: [DONE]"
    assert all(e.startswith("data: ") for e in events[:-1])
    assert [json.loads(e[6:])["choices"][0]["delta"] for e in events[:-2]] == [
        {"role": "assistant", "content": ""},
        {"content": "Echo:"},
        {"content": " hi"},
        {},
    ]


def _expected_arguments() -> str:
    return json.dumps({"query": "What is the capital of France today?"})


def _only_function_call(completion: ChatCompletion) -> ChatCompletionMessageFunctionToolCall:
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert len(calls) == 1
    call = calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    return call


def test_tools_plain(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)

    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = _only_function_call(completion)
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "search"
    assert call.function.arguments == _expected_arguments()
    assert json.loads(call.function.arguments) == {"query": "What is the capital of France today?"}
    assert completion.usage is not None
    assert completion.usage.completion_tokens == len(call.function.arguments.split())

    again = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    assert _only_function_call(again).id == call.id  # deterministic


def test_tool_choice_named_and_none(client: openai.OpenAI) -> None:
    named = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        tools=TOOLS,
        tool_choice={"type": "function", "function": {"name": "lookup"}},
    )
    assert _only_function_call(named).function.name == "lookup"

    none = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=TOOLS, tool_choice="none"
    )
    assert none.choices[0].finish_reason == "stop"
    assert none.choices[0].message.content == EXPECTED_TEXT
    assert none.choices[0].message.tool_calls is None


def test_tools_streamed_matches_plain(client: openai.OpenAI) -> None:
    plain = client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    chunks = list(
        client.chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
    )

    calls: dict[int, dict[str, Any]] = {}
    argument_pieces = 0
    for chunk in chunks:
        for choice in chunk.choices:
            for tc in choice.delta.tool_calls or []:
                slot = calls.setdefault(tc.index, {"id": None, "name": None, "arguments": ""})
                if tc.id:
                    slot["id"] = tc.id
                if tc.function and tc.function.name:
                    slot["name"] = tc.function.name
                if tc.function and tc.function.arguments:
                    slot["arguments"] += tc.function.arguments
                    argument_pieces += 1

    plain_call = _only_function_call(plain)
    assert list(calls) == [0]
    assert calls[0] == {
        "id": plain_call.id,
        "name": plain_call.function.name,
        "arguments": plain_call.function.arguments,
    }
    assert json.loads(calls[0]["arguments"]) == json.loads(_expected_arguments())
    assert argument_pieces > 1
    finish = [
        c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason
    ]
    assert finish == ["tool_calls"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert plain.usage is not None
    assert chunks[-1].usage.model_dump() == plain.usage.model_dump()


def test_tool_result_turn_is_answered_with_text(client: openai.OpenAI) -> None:
    call = _only_function_call(
        client.chat.completions.create(model=MODEL, messages=MESSAGES, tools=TOOLS)
    )
    follow_up: list[ChatCompletionMessageParam] = [
        *MESSAGES,
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        },
        {"role": "tool", "tool_call_id": call.id, "content": "Paris is the capital"},
    ]

    completion = client.chat.completions.create(model=MODEL, messages=follow_up, tools=TOOLS)
    choice = completion.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.tool_calls is None
    assert choice.message.content == "Echo: Paris is the capital"

    chunks = list(
        client.chat.completions.create(model=MODEL, messages=follow_up, tools=TOOLS, stream=True)
    )
    assert all(not c.choices[0].delta.tool_calls for c in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text == "Echo: Paris is the capital"
    assert chunks[-1].choices[0].finish_reason == "stop"

    # a new user turn after the tool result asks for a tool again
    again = client.chat.completions.create(
        model=MODEL,
        messages=[*follow_up, {"role": "user", "content": "and Spain?"}],
        tools=TOOLS,
    )
    assert json.loads(_only_function_call(again).function.arguments) == {"query": "and Spain?"}


@pytest.mark.parametrize("param", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_truncates_with_length(client: openai.OpenAI, param: str) -> None:
    kwargs: dict[str, Any] = {param: 3}
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, **kwargs)
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == "Echo: What is"
    assert completion.usage is not None
    assert completion.usage.completion_tokens == 3

    chunks = list(
        client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True, **kwargs)
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Echo: What is"
    assert chunks[-1].choices[0].finish_reason == "length"


def test_max_tokens_larger_than_reply_does_not_truncate(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model=MODEL, messages=MESSAGES, max_tokens=100)
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == EXPECTED_TEXT


# -- embeddings ---------------------------------------------------------------------------------


def test_embeddings_float_and_base64_agree(client: openai.OpenAI) -> None:
    inputs = ["hello world", "another input here"]
    as_float = client.embeddings.create(model="text-embedding-3-small", input=inputs)
    explicit_float = client.embeddings.create(
        model="text-embedding-3-small", input=inputs, encoding_format="float"
    )
    explicit_b64 = client.embeddings.create(
        model="text-embedding-3-small", input=inputs, encoding_format="base64"
    )

    assert as_float.object == "list"
    assert as_float.model == "text-embedding-3-small"
    assert [d.index for d in as_float.data] == [0, 1]
    assert all(d.object == "embedding" for d in as_float.data)
    vectors = [d.embedding for d in as_float.data]  # SDK default: base64 on the wire, decoded
    assert all(len(v) == 8 for v in vectors)
    assert all(-1.0 <= x <= 1.0 for v in vectors for x in v)
    assert vectors[0] != vectors[1]
    assert [d.embedding for d in explicit_float.data] == vectors

    decoded: list[list[float]] = []
    for d in explicit_b64.data:
        raw = d.embedding
        assert isinstance(raw, str)  # the SDK leaves explicitly requested base64 untouched
        blob = base64.b64decode(raw)
        decoded.append(list(struct.unpack(f"<{len(blob) // 4}f", blob)))
    assert decoded == vectors
    assert as_float.usage.prompt_tokens == 5
    assert as_float.usage.total_tokens == 5


def test_embeddings_deterministic_tokens_and_dimensions(client: openai.OpenAI) -> None:
    a = client.embeddings.create(model="text-embedding-3-small", input="same text")
    b = client.embeddings.create(model="text-embedding-3-small", input=["same text"])
    assert a.data[0].embedding == b.data[0].embedding

    tokens = client.embeddings.create(
        model="text-embedding-3-small", input=[[1, 2, 3], [4, 5]], dimensions=16
    )
    assert [len(d.embedding) for d in tokens.data] == [16, 16]
    assert tokens.usage.prompt_tokens == 5

    flat = client.embeddings.create(model="text-embedding-3-small", input=[7, 8, 9, 10])
    assert len(flat.data) == 1
    assert flat.usage.prompt_tokens == 4


# -- models -----------------------------------------------------------------------------------


def test_models_list(client: openai.OpenAI) -> None:
    models = list(client.models.list())
    ids = [m.id for m in models]
    assert "gpt-4o-mini" in ids
    assert "text-embedding-3-small" in ids
    assert all(m.object == "model" and m.owned_by == "fake" for m in models)
    assert client.models.retrieve("gpt-4o").id == "gpt-4o"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


# -- errors ---------------------------------------------------------------------------------------


def _user(text: str = "hi") -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def test_error_500(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="fake-error-500", messages=_user())
    assert info.value.status_code == 500
    assert info.value.type == "server_error"
    assert "server had an error" in info.value.message


def test_error_429(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="fake-error-429", messages=_user())
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.type == "requests"


def test_error_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="fake-error-400", messages=_user())
    assert info.value.param == "messages"
    assert info.value.type == "invalid_request_error"


def test_error_401_leaky_echoes_the_key(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="fake-error-401-leaky", messages=_user())
    assert API_KEY in info.value.message


def test_malformed_bodies_are_openai_400s(fake: FakeOpenAI) -> None:
    url = f"{fake.base_url}/chat/completions"
    headers = {"Authorization": f"Bearer {API_KEY}"}
    not_json = httpx.post(url, headers=headers, content=b"{nope")
    no_messages = httpx.post(url, headers=headers, json={"model": MODEL})
    no_model = httpx.post(url, headers=headers, json={"messages": _user()})
    for response in (not_json, no_messages, no_model):
        assert response.status_code == 400
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"}
        assert error["type"] == "invalid_request_error"
    assert no_messages.json()["error"]["param"] == "messages"


def test_missing_bearer_is_401(fake: FakeOpenAI) -> None:
    response = httpx.get(f"{fake.base_url}/models")
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_wrong_key_with_expected_key() -> None:
    with FakeOpenAI(expected_key="sk-right") as strict:
        bad = openai.OpenAI(base_url=strict.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError) as info:
            bad.models.list()
        assert info.value.body == {
            "message": "Incorrect API key provided.",
            "type": "invalid_request_error",
            "param": None,
            "code": "invalid_api_key",
        }
        assert "sk-wrong" not in info.value.response.text

        good = openai.OpenAI(base_url=strict.base_url, api_key="sk-right", max_retries=0)
        assert good.models.list().data


def test_slow_model_times_out(client: openai.OpenAI) -> None:
    with pytest.raises(openai.APITimeoutError):
        client.with_options(timeout=0.3).chat.completions.create(
            model="fake-slow", messages=_user()
        )


def test_stalled_stream_sends_first_chunk_then_stalls(client: openai.OpenAI) -> None:
    stream = client.with_options(timeout=0.3).chat.completions.create(
        model="fake-stall-stream", messages=_user(), stream=True
    )
    iterator = iter(stream)
    first = next(iterator)
    assert first.choices[0].delta.role == "assistant"
    with pytest.raises(openai.APITimeoutError):
        next(iterator)
    stream.close()


# -- request recording ----------------------------------------------------------------------------


def test_requests_are_recorded(fake: FakeOpenAI, client: openai.OpenAI) -> None:
    fake.clear()
    assert fake.requests == []
    client.chat.completions.create(
        model=MODEL, messages=_user("record me"), temperature=0.5, user="u-1"
    )
    client.models.list()

    chat, models = fake.requests
    assert chat.method == "POST"
    assert chat.path == "/v1/chat/completions"
    assert chat.headers["authorization"] == f"Bearer {API_KEY}"
    assert chat.headers["content-type"] == "application/json"
    assert chat.json == {
        "model": MODEL,
        "messages": [{"role": "user", "content": "record me"}],
        "temperature": 0.5,
        "user": "u-1",
    }
    assert (models.method, models.path, models.json) == ("GET", "/v1/models", None)
    fake.clear()
    assert fake.requests == []


@pytest.mark.parametrize("prefix", ["/openai/v1", "", "/v1"])
def test_routes_are_served_under_any_prefix(fake: FakeOpenAI, prefix: str) -> None:
    fake.clear()
    base = f"http://127.0.0.1:{fake.port}{prefix}"
    with openai.OpenAI(base_url=base, api_key=API_KEY, max_retries=0) as prefixed:
        reply = prefixed.chat.completions.create(model=MODEL, messages=_user("prefixed"))
        streamed = prefixed.chat.completions.create(
            model=MODEL, messages=_user("prefixed"), stream=True
        )
        text = "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        assert reply.choices[0].message.content == text == "Echo: prefixed"
        assert prefixed.embeddings.create(model="text-embedding-3-small", input="x").data
        assert prefixed.models.list().data
        assert prefixed.models.retrieve("gpt-4o").id == "gpt-4o"
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", f"{prefix}/chat/completions"),
        ("POST", f"{prefix}/chat/completions"),
        ("POST", f"{prefix}/embeddings"),
        ("GET", f"{prefix}/models"),
        ("GET", f"{prefix}/models/gpt-4o"),
    ]
    unknown = httpx.get(f"{base}/nowhere", headers={"Authorization": f"Bearer {API_KEY}"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_url"


def test_allow_anonymous_serves_requests_without_a_key() -> None:
    with FakeOpenAI(allow_anonymous=True) as open_fake:
        response = httpx.post(
            f"{open_fake.base_url}/chat/completions", json={"model": MODEL, "messages": _user()}
        )
        assert response.status_code == 200, response.text
        assert "authorization" not in open_fake.requests[0].headers


def test_error_503_and_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as overloaded:
        client.chat.completions.create(model="fake-error-503", messages=_user())
    assert overloaded.value.status_code == 503
    assert overloaded.value.type == "server_error"
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="fake-error-404", messages=_user())
    assert missing.value.code == "model_not_found"
    assert "`fake-error-404` does not exist" in missing.value.message


def test_an_error_event_ends_a_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fake-stream-error", messages=_user(), stream=True
    )
    iterator = iter(stream)
    assert next(iterator).choices[0].delta.role == "assistant"
    with pytest.raises(openai.APIError) as failed:
        next(iterator)
    assert failed.value.type == "server_error"
