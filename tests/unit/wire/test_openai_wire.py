"""The OpenAI wire helpers: request bodies, usage, SSE events, chunks, errors, embeddings."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domains.providers.ports import Usage
from domains.providers.upstream_failures import Condition
from infrastructure.adapters.providers.openai_errors import (
    error_facts,
    read_openai_error,
    stream_error,
)
from infrastructure.adapters.providers.openai_wire import (
    chat_body,
    chunk_facts,
    embeddings_as_base64,
    event_data,
    floats_to_base64,
    usage_of,
)

MESSAGES = [{"role": "user", "content": "hi"}]


def body_of(raw: bytes) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(raw)
    return out


# --- chat_body -------------------------------------------------------------------------------


def test_chat_body_sets_the_upstream_model_and_keeps_the_rest() -> None:
    client = {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2}
    sent = body_of(chat_body(client, "gpt-4o-mini-2024-07-18", stream=False))
    assert sent == {"model": "gpt-4o-mini-2024-07-18", "messages": MESSAGES, "temperature": 0.2}
    assert client["model"] == "gpt-4o-mini"  # the client's body is not changed


def test_streaming_forces_include_usage() -> None:
    sent = body_of(chat_body({"messages": MESSAGES, "stream": True}, "m", stream=True))
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}


def test_streaming_overrides_include_usage_false_and_keeps_other_options() -> None:
    client = {
        "messages": MESSAGES,
        "stream": True,
        "stream_options": {"include_usage": False, "other": 1},
    }
    sent = body_of(chat_body(client, "m", stream=True))
    assert sent["stream_options"] == {"include_usage": True, "other": 1}
    assert client["stream_options"] == {"include_usage": False, "other": 1}


def test_streaming_with_null_stream_options() -> None:
    sent = body_of(chat_body({"messages": MESSAGES, "stream_options": None}, "m", stream=True))
    assert sent["stream_options"] == {"include_usage": True}


def test_not_streaming_drops_stream_options() -> None:
    client = {"messages": MESSAGES, "stream_options": {"include_usage": True}}
    sent = body_of(chat_body(client, "m", stream=False))
    assert "stream_options" not in sent
    assert "stream" not in sent
    assert "stream_options" in client


# --- usage_of --------------------------------------------------------------------------------


def test_usage_of_a_chat_response() -> None:
    body = json.dumps(
        {
            "id": "x",
            "choices": [{"message": {"content": "hello"}}],
            "usage": {
                "prompt_tokens": 12,
                "completion_tokens": 5,
                "total_tokens": 17,
                "prompt_tokens_details": {"cached_tokens": 4},
            },
        }
    ).encode()
    assert usage_of(body) == Usage(input_tokens=12, output_tokens=5, cached_tokens=4)


def test_usage_of_an_embeddings_response_has_no_completion_tokens() -> None:
    body = b'{"data": [], "usage": {"prompt_tokens": 8, "total_tokens": 8}}'
    assert usage_of(body) == Usage(input_tokens=8, output_tokens=0, cached_tokens=0)


@pytest.mark.parametrize(
    "body",
    [
        b'{"usage": {"prompt_tokens": null, "completion_tokens": null}}',
        b'{"usage": {"prompt_tokens_details": null}}',
        b'{"usage": {"prompt_tokens_details": {"cached_tokens": null}}}',
    ],
)
def test_usage_of_treats_nulls_as_zero(body: bytes) -> None:
    assert usage_of(body) == Usage()


@pytest.mark.parametrize(
    "body",
    [b'{"id": "x"}', b'{"usage": null}', b"not json", b"", b"[1, 2]", b'{"usage": "many"}'],
)
def test_usage_of_without_usage_is_none(body: bytes) -> None:
    assert usage_of(body) is None


# --- event_data ------------------------------------------------------------------------------


def test_event_data_of_a_single_line() -> None:
    assert event_data(b'data: {"a": 1}') == b'{"a": 1}'


def test_event_data_joins_multiple_data_lines_with_newlines() -> None:
    assert event_data(b"data: first\ndata: second\ndata:third") == b"first\nsecond\nthird"


def test_event_data_without_a_space_after_the_colon() -> None:
    assert event_data(b"data:[DONE]") == b"[DONE]"


def test_event_data_strips_only_one_space() -> None:
    assert event_data(b"data:  two") == b" two"


def test_event_data_ignores_comments_ids_and_event_names() -> None:
    event = b": keep-alive\nevent: message\nid: 7\ndata: payload\nretry: 10"
    assert event_data(event) == b"payload"


@pytest.mark.parametrize("event", [b": ping", b"", b"event: ping\nid: 3", b"datum: x"])
def test_event_data_of_an_event_without_data_is_none(event: bytes) -> None:
    assert event_data(event) is None


def test_event_data_of_an_empty_data_line_is_empty() -> None:
    assert event_data(b"data:") == b""
    assert event_data(b"data: ") == b""


# --- chunk_facts -----------------------------------------------------------------------------


def chunk(**fields: Any) -> bytes:
    return json.dumps({"id": "c", "object": "chat.completion.chunk", **fields}).encode()


def test_content_chunk_counts_output_chars() -> None:
    facts = chunk_facts(chunk(choices=[{"index": 0, "delta": {"content": "Hello!"}}]))
    assert facts is not None
    assert facts.output_chars == 6
    assert facts.usage is None
    assert facts.usage_only is False
    assert facts.finish_reason is None


def test_tool_call_arguments_count_as_output() -> None:
    delta = {
        "tool_calls": [
            {"index": 0, "function": {"name": "f", "arguments": '{"city":'}},
            {"index": 1, "function": {"arguments": '"Paris"}'}},
            {"index": 2, "function": {"name": "g"}},
        ]
    }
    facts = chunk_facts(chunk(choices=[{"delta": delta}]))
    assert facts is not None
    assert facts.output_chars == len('{"city":') + len('"Paris"}')


@pytest.mark.parametrize(
    "call",
    [
        {"function": "not-an-object"},
        {"function": 5},
        {"function": ["a"]},
        {"function": None},
        {"function": {"arguments": 7}},
        {"function": {"arguments": {"nested": "x"}}},
        {},
    ],
)
def test_malformed_tool_calls_count_nothing_and_do_not_raise(call: dict[str, Any]) -> None:
    facts = chunk_facts(chunk(choices=[{"delta": {"content": "ab", "tool_calls": [call]}}]))
    assert facts is not None
    assert facts.output_chars == 2


def test_content_and_tool_calls_across_choices_add_up() -> None:
    choices = [
        {"index": 0, "delta": {"content": "abc"}},
        {"index": 1, "delta": {"content": "de", "tool_calls": [{"function": {"arguments": "xy"}}]}},
    ]
    facts = chunk_facts(chunk(choices=choices))
    assert facts is not None
    assert facts.output_chars == 7


def test_finish_reason_is_reported() -> None:
    facts = chunk_facts(chunk(choices=[{"delta": {}, "finish_reason": "stop"}]))
    assert facts is not None
    assert facts.finish_reason == "stop"
    assert facts.output_chars == 0


def test_a_usage_only_chunk_is_detected() -> None:
    data = chunk(
        choices=[],
        usage={
            "prompt_tokens": 20,
            "completion_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 3},
        },
    )
    facts = chunk_facts(data)
    assert facts is not None
    assert facts.usage_only is True
    assert facts.usage == Usage(input_tokens=20, output_tokens=7, cached_tokens=3)
    assert facts.output_chars == 0


def test_usage_on_a_chunk_with_choices_is_not_usage_only() -> None:
    data = chunk(
        choices=[{"delta": {"content": "x"}, "finish_reason": "stop"}],
        usage={"prompt_tokens": 2, "completion_tokens": 1},
    )
    facts = chunk_facts(data)
    assert facts is not None
    assert facts.usage == Usage(input_tokens=2, output_tokens=1)
    assert facts.usage_only is False
    assert facts.output_chars == 1


def test_a_chunk_with_null_usage_has_no_usage() -> None:
    facts = chunk_facts(chunk(choices=[], usage=None))
    assert facts is not None
    assert facts.usage is None
    assert facts.usage_only is False


@pytest.mark.parametrize(
    "data",
    [b"[DONE]", b"", b"not json", b'{"choices": "nope"}', b'{"choices": [{"delta": 3}]}'],
)
def test_what_is_not_a_chunk_gives_none(data: bytes) -> None:
    assert chunk_facts(data) is None


def test_an_error_event_in_a_stream_is_a_chunk_without_facts() -> None:
    facts = chunk_facts(b'{"error": {"message": "overloaded"}}')
    assert facts is not None
    assert (facts.usage, facts.output_chars, facts.finish_reason) == (None, 0, None)


# --- error_facts -----------------------------------------------------------------------------


def test_error_facts_of_an_openai_error() -> None:
    body = json.dumps(
        {
            "error": {
                "message": "Incorrect API key provided.",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
                "param": None,
            }
        }
    ).encode()
    facts = error_facts(body)
    assert (facts.message, facts.type, facts.code, facts.param) == (
        "Incorrect API key provided.",
        "invalid_request_error",
        "invalid_api_key",
        None,
    )


def test_error_facts_with_an_integer_code_and_a_param() -> None:
    facts = error_facts(b'{"error": {"message": "bad", "code": 400, "param": "messages"}}')
    assert (facts.message, facts.code, facts.param) == ("bad", "400", "messages")


def test_error_facts_of_an_ollama_style_string_error() -> None:
    facts = error_facts(b'{"error": "model \\"llama9\\" not found, try pulling it first"}')
    assert facts.message == 'model "llama9" not found, try pulling it first'
    assert (facts.type, facts.code, facts.param) == (None, None, None)


def test_error_facts_of_a_top_level_message() -> None:
    assert error_facts(b'{"message": "rate limited"}').message == "rate limited"


def test_error_facts_falls_back_to_the_top_level_message_when_the_detail_has_none() -> None:
    facts = error_facts(b'{"error": {"type": "server_error"}, "message": "boom"}')
    assert (facts.message, facts.type) == ("boom", "server_error")


@pytest.mark.parametrize("body", [b"{}", b'{"error": null}', b'{"error": ""}', b"", b"   "])
def test_error_facts_without_any_message(body: bytes) -> None:
    assert error_facts(body).message == "no error message"


def test_error_facts_of_a_non_json_body_is_its_text() -> None:
    facts = error_facts(b"<html><body>502 Bad Gateway</body></html>\n")
    assert facts.message == "<html><body>502 Bad Gateway</body></html>"
    assert (facts.type, facts.code, facts.param) == (None, None, None)


def test_error_facts_of_a_long_non_json_body_is_cut_to_500_bytes() -> None:
    facts = error_facts(b"x" * 10_000)
    assert facts.message == "x" * 500


def test_error_facts_of_invalid_utf8_does_not_raise() -> None:
    facts = error_facts(b"\xff\xfe bad bytes")
    assert "bad bytes" in facts.message


def test_error_facts_of_json_with_an_unexpected_shape_is_its_text() -> None:
    assert error_facts(b'{"error": 42}').message == '{"error": 42}'
    assert error_facts(b"[1, 2, 3]").message == "[1, 2, 3]"


# --- embeddings ------------------------------------------------------------------------------


def test_embeddings_as_base64_decodes_to_the_same_float32_values() -> None:
    vectors = [[0.1, -2.5, 3.0e-5, 0.0], [1.0, 2.0]]
    body = json.dumps(
        {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
            ],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 3, "total_tokens": 3},
        }
    ).encode()

    out = json.loads(embeddings_as_base64(body))

    assert out["model"] == "text-embedding-3-small"
    assert out["usage"] == {"prompt_tokens": 3, "total_tokens": 3}
    for item, vector in zip(out["data"], vectors, strict=True):
        raw = base64.b64decode(item["embedding"])
        assert len(raw) == 4 * len(vector)
        decoded = struct.unpack(f"<{len(vector)}f", raw)
        expected = struct.unpack(f"<{len(vector)}f", struct.pack(f"<{len(vector)}f", *vector))
        assert decoded == expected
        assert decoded == pytest.approx(vector, rel=1e-6, abs=1e-12)


def test_embeddings_already_base64_are_left_alone() -> None:
    body = b'{"data": [{"embedding": "AAAAAA=="}]}'
    assert json.loads(embeddings_as_base64(body)) == {"data": [{"embedding": "AAAAAA=="}]}


def test_embeddings_without_data() -> None:
    assert json.loads(embeddings_as_base64(b'{"data": null}')) == {"data": None}


@given(st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), max_size=64))
def test_floats_to_base64_is_little_endian_float32(values: list[float]) -> None:
    raw = base64.b64decode(floats_to_base64(values))
    assert list(struct.unpack(f"<{len(values)}f", raw)) == values


# --- never raise -----------------------------------------------------------------------------


def _deep(depth: int) -> bytes:
    return b'{"choices": [], "x": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    "data",
    [_deep(5000), b'{"error": ' * 5000 + b"1" + b"}" * 5000, b"[" * 100_000],
    ids=["deep-array", "deep-object", "unclosed"],
)
def test_absurdly_nested_json_does_not_raise(data: bytes) -> None:
    assert chunk_facts(data) is None
    assert usage_of(data) is None
    assert isinstance(error_facts(data).message, str)
    assert event_data(data) is None


@given(st.binary(max_size=512))
def test_parsers_never_raise_on_arbitrary_bytes(data: bytes) -> None:
    facts = chunk_facts(data)
    assert facts is None or facts.output_chars >= 0
    usage = usage_of(data)
    assert usage is None or isinstance(usage, Usage)
    assert isinstance(error_facts(data).message, str)
    assert error_facts(data).message != ""
    out = event_data(data)
    assert out is None or isinstance(out, bytes)


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "choices": st.lists(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "delta": st.fixed_dictionaries(
                            {},
                            optional={
                                "content": st.none() | st.text(max_size=10),
                                "tool_calls": st.lists(
                                    st.dictionaries(
                                        st.sampled_from(["function", "id", "index"]), JSONISH
                                    ),
                                    max_size=3,
                                ),
                            },
                        ),
                        "finish_reason": st.none() | st.text(max_size=5),
                    },
                ),
                max_size=3,
            ),
            "usage": JSONISH,
            "error": JSONISH,
            "message": JSONISH,
        },
    )
)
def test_parsers_never_raise_on_chunk_shaped_json(value: dict[str, Any]) -> None:
    data = msgspec.json.encode(value)
    facts = chunk_facts(data)
    assert facts is None or facts.output_chars >= 0
    usage_of(data)
    assert isinstance(error_facts(data).message, str)
    assert event_data(b"data: " + data) == data


def test_chat_body_without_stream_usage_sends_no_stream_options() -> None:
    sent = msgspec.json.decode(
        chat_body(
            {
                "model": "m",
                "messages": [],
                "stream": True,
                "stream_options": {"include_usage": True},
            },
            "up",
            stream=True,
            stream_usage=False,
        )
    )
    assert sent == {"model": "up", "messages": [], "stream": True}


# --- read_openai_error and stream_error --------------------------------------------------------


def openai_error(message: str, type_: str | None = None, code: str | None = None) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": type_, "param": None, "code": code}}
    ).encode()


@pytest.mark.parametrize(
    ("status", "body", "condition"),
    [
        (
            401,
            openai_error("Incorrect API key provided.", code="invalid_api_key"),
            Condition.CREDENTIALS_REFUSED,
        ),
        (
            403,
            openai_error("Project does not have access.", code="model_not_found"),
            Condition.CREDENTIALS_REFUSED,
        ),
        (
            404,
            openai_error("The model `x` does not exist.", code="model_not_found"),
            Condition.MODEL_NOT_FOUND,
        ),
        (
            429,
            openai_error("Rate limit reached.", "requests", "rate_limit_exceeded"),
            Condition.RATE_LIMITED,
        ),
        (
            400,
            openai_error("Invalid 'messages'.", "invalid_request_error"),
            Condition.INVALID_REQUEST,
        ),
        (
            400,
            openai_error("Too long.", "invalid_request_error", "context_length_exceeded"),
            Condition.CONTEXT_LENGTH_EXCEEDED,
        ),
        (
            400,
            openai_error("This model's maximum context length is 128000 tokens."),
            Condition.CONTEXT_LENGTH_EXCEEDED,
        ),
        (500, openai_error("The server had an error.", "server_error"), Condition.SERVER_ERROR),
        (
            503,
            openai_error("The engine is currently overloaded.", "server_error"),
            Condition.OVERLOADED,
        ),
        (502, b"<html>Bad Gateway</html>", Condition.SERVER_ERROR),
    ],
)
def test_read_openai_error(status: int, body: bytes, condition: Condition) -> None:
    reading = read_openai_error(status, body, {"Retry-After": "3"})
    assert reading.condition is condition
    assert reading.retry_after == "3"


@pytest.mark.parametrize(
    ("data", "condition"),
    [
        (openai_error("overloaded", "server_error"), Condition.SERVER_ERROR),
        (
            openai_error("slow down", "rate_limit_error", "rate_limit_exceeded"),
            Condition.RATE_LIMITED,
        ),
        (openai_error("busy", "service_unavailable", "upstream_overloaded"), Condition.OVERLOADED),
        (b'{"error": "flat text"}', Condition.SERVER_ERROR),
    ],
)
def test_an_error_event_in_a_stream_has_a_condition(data: bytes, condition: Condition) -> None:
    reading = stream_error(data)
    assert reading is not None
    assert reading.condition is condition


@pytest.mark.parametrize("data", [b'{"choices": []}', b"not json", b'{"error": null}'])
def test_what_is_not_an_error_event_is_none(data: bytes) -> None:
    assert stream_error(data) is None
