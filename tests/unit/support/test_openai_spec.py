"""The checker of answers against OpenAI's OpenAPI document (`tests.support.openai_spec`) passes
OpenAI's own answers and refuses what OpenAI would not send: a checker that cannot fail proves
nothing about the gateway."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from tests.support import openai_spec
from tests.support.openai_spec import (
    CHAT_CHUNKS,
    RESPONSE_EVENTS,
    SpecMismatch,
    answer_schema,
    operation,
    validate,
    validate_answer,
    validate_stream,
)
from tests.support.openapi_to_json_schema import as_json_schema

# as OpenAI answers (its API reference's examples, trimmed)
COMPLETION: dict[str, Any] = {
    "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
    "object": "chat.completion",
    "created": 1741570283,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "The image shows a wooden boardwalk.",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 1117,
        "completion_tokens": 46,
        "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}
TOOL_CALL: dict[str, Any] = {
    "id": "call_abc123",
    "type": "function",
    "function": {"name": "get_current_weather", "arguments": '{"location": "Boston, MA"}'},
}
CHUNK: dict[str, Any] = {
    "id": "chatcmpl-123",
    "object": "chat.completion.chunk",
    "created": 1694268190,
    "model": "gpt-4o-mini",
    "system_fingerprint": "fp_44709d6fcb",
    "choices": [
        {
            "index": 0,
            "delta": {"role": "assistant", "content": ""},
            "logprobs": None,
            "finish_reason": None,
        }
    ],
    "usage": None,
}
ERROR: dict[str, Any] = {
    "error": {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }
}


def without(answer: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    changed = copy.deepcopy(answer)
    holder: Any = changed
    for step in path[:-1]:
        holder = holder[step]
    del holder[path[-1]]
    return changed


def replaced(answer: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(answer)
    holder: Any = changed
    for step in path[:-1]:
        holder = holder[step]
    holder[path[-1]] = value
    return changed


def answer(
    status: int, body: Any, *, path: str = "/v1/chat/completions", method: str = "POST", **kw: Any
) -> httpx.Response:
    request = httpx.Request(method, f"http://gateway{path}")
    return httpx.Response(status, json=body, request=request, **kw)


def sse(data: Any, event: str = "message") -> ServerSentEvent:
    return ServerSentEvent(event=event, data=data if isinstance(data, str) else json.dumps(data))


# -- one answer against a schema -------------------------------------------------------------


def test_openai_answers_validate() -> None:
    validate(COMPLETION, "CreateChatCompletionResponse")
    validate(ERROR, "ErrorResponse")
    with_call = replaced(COMPLETION, ("choices", 0, "message", "tool_calls"), [TOOL_CALL])
    validate(with_call, "CreateChatCompletionResponse")


@pytest.mark.parametrize(
    "path",
    [
        ("id",),
        ("object",),
        ("created",),
        ("model",),
        ("choices",),
        ("choices", 0, "finish_reason"),
        ("choices", 0, "index"),
        ("choices", 0, "logprobs"),
        ("choices", 0, "message"),
        ("choices", 0, "message", "role"),
        ("choices", 0, "message", "content"),
        ("choices", 0, "message", "refusal"),
        ("usage", "prompt_tokens"),
        ("usage", "total_tokens"),
    ],
)
def test_an_answer_missing_a_required_field_is_refused(path: tuple[Any, ...]) -> None:
    with pytest.raises(SpecMismatch) as refused:
        validate(without(COMPLETION, path), "CreateChatCompletionResponse")
    assert f"'{path[-1]}' is a required property" in str(refused.value)


@pytest.mark.parametrize(
    ("path", "value", "said"),
    [
        (("object",), "chat.completions", "is not one of ['chat.completion']"),
        (("created",), "1741570283", "is not of type 'integer'"),
        (("choices", 0, "finish_reason"), "done", "is not one of"),
        (("choices", 0, "message", "role"), "user", "is not one of ['assistant']"),
        (("usage", "completion_tokens"), 4.5, "is not of type 'integer'"),
        (("choices", 0, "message", "content"), ["a", "b"], "is not valid under any"),
    ],
)
def test_an_answer_with_a_wrong_value_is_refused(
    path: tuple[Any, ...], value: Any, said: str
) -> None:
    with pytest.raises(SpecMismatch) as refused:
        validate(replaced(COMPLETION, path, value), "CreateChatCompletionResponse")
    message = str(refused.value)
    assert said in message
    assert "$." + ".".join(str(p) for p in path).replace(".0", "[0]") in message


def test_an_error_without_its_code_or_param_is_refused() -> None:
    for field in ("code", "param", "message", "type"):
        with pytest.raises(SpecMismatch, match=f"'{field}' is a required property"):
            validate(without(ERROR, ("error", field)), "ErrorResponse")
    with pytest.raises(SpecMismatch, match="'error' is a required property"):
        validate({"message": "flat"}, "ErrorResponse")


def test_an_unknown_schema_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no schema `NoSuchThing`"):
        validate({}, "NoSuchThing")


# -- what the conversion of the OpenAPI dialect changes ----------------------------------------


def test_nullable_fields_take_null_and_their_type_but_nothing_else() -> None:
    validate(CHUNK, "CreateChatCompletionStreamResponse")  # finish_reason, usage, logprobs: null
    last = replaced(CHUNK, ("choices", 0, "finish_reason"), "stop")
    validate(last, "CreateChatCompletionStreamResponse")
    for path, value in [
        (("choices", 0, "finish_reason"), "finished"),
        (("choices", 0, "finish_reason"), 0),
        (("usage",), {"prompt_tokens": 1}),
        (("choices", 0, "logprobs"), {"content": None}),
    ]:
        with pytest.raises(SpecMismatch):
            validate(replaced(CHUNK, path, value), "CreateChatCompletionStreamResponse")


def test_the_conversion_of_each_openapi_spelling() -> None:
    converted = as_json_schema(
        {
            "components": {
                "schemas": {
                    "Typed": {"type": "string", "enum": ["a"], "nullable": True},
                    "Referring": {"$ref": "#/components/schemas/Typed", "nullable": True},
                    "Merged": {
                        "allOf": [{"$ref": "#/components/schemas/Typed"}, {"nullable": True}]
                    },
                    "NotNullable": {"type": "string", "nullable": False},
                    "Tree": {
                        "$recursiveAnchor": True,
                        "properties": {"children": {"items": {"$recursiveRef": "#"}}},
                    },
                    "Named": {"properties": {"nullable": {"type": "boolean", "nullable": True}}},
                }
            }
        }
    )
    schemas = converted["components"]["schemas"]
    assert schemas["Typed"] == {"type": ["string", "null"], "enum": ["a", None]}
    assert schemas["Referring"] == {
        "anyOf": [{"$ref": "#/components/schemas/Typed"}, {"type": "null"}]
    }
    assert schemas["Merged"] == {
        "anyOf": [{"allOf": [{"$ref": "#/components/schemas/Typed"}]}, {"type": "null"}]
    }
    assert schemas["NotNullable"] == {"type": "string"}
    assert schemas["Tree"] == {
        "properties": {"children": {"items": {"$ref": "#/components/schemas/Tree"}}}
    }
    assert schemas["Named"] == {"properties": {"nullable": {"type": ["boolean", "null"]}}}


def test_a_recursive_filter_is_checked_at_every_depth() -> None:
    leaf = {"type": "eq", "key": "region", "value": "eu"}
    validate({"type": "and", "filters": [{"type": "or", "filters": [leaf]}]}, "CompoundFilter")
    broken = {"type": "and", "filters": [{"type": "or", "filters": [{"type": "eq"}]}]}
    with pytest.raises(SpecMismatch, match=r"\$\.filters\[0\]\.filters\[0\]: 'key' is a required"):
        validate(broken, "CompoundFilter")


def test_a_discriminated_member_is_checked_as_the_member_its_type_names() -> None:
    call = without(TOOL_CALL, ("function",))
    with pytest.raises(SpecMismatch) as refused:
        validate(
            replaced(COMPLETION, ("choices", 0, "message", "tool_calls"), [call]),
            "CreateChatCompletionResponse",
        )
    assert "$.choices[0].message.tool_calls[0]: 'function' is a required property" in str(
        refused.value
    )
    with pytest.raises(SpecMismatch) as unknown:
        validate({**TOOL_CALL, "type": "procedure"}, "ChatCompletionMessageToolCalls")
    assert "is not of type 'array'" in str(unknown.value)
    with pytest.raises(SpecMismatch) as unknown:
        validate([{**TOOL_CALL, "type": "procedure"}], "ChatCompletionMessageToolCalls")
    assert '"procedure" is none of the `type`s this schema takes: "custom", "function"' in str(
        unknown.value
    )


def test_a_responses_stream_event_is_checked_as_its_type() -> None:
    delta = {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hi",
        "sequence_number": 4,
        "logprobs": [],
    }
    validate(delta, "ResponseStreamEvent")
    with pytest.raises(SpecMismatch, match=r"\$\.delta: 3 is not of type 'string'"):
        validate({**delta, "delta": 3}, "ResponseStreamEvent")
    with pytest.raises(SpecMismatch, match="'sequence_number' is a required property"):
        validate(without(delta, ("sequence_number",)), "ResponseStreamEvent")


# -- whole answers: the operation's schema, media type and headers ----------------------------


def test_the_document_names_each_answers_schema() -> None:
    assert operation("GET", "/v1/models/gpt-4o")[0] == "/models/{model}"
    assert answer_schema("POST", "/v1/chat/completions", 200, "application/json") == (
        "CreateChatCompletionResponse"
    )
    assert answer_schema("POST", "/v1/chat/completions", 200, "text/event-stream") == (
        "CreateChatCompletionStreamResponse"
    )
    assert answer_schema("GET", "/v1/models", 200, "application/json") == "ListModelsResponse"
    assert answer_schema("POST", "/v1/embeddings", 401, "application/json") == "ErrorResponse"
    with pytest.raises(LookupError):
        operation("GET", "/admin/v1/keys")
    with pytest.raises(LookupError):
        operation("DELETE", "/v1/chat/nothing")


def test_a_whole_answer_is_checked_against_its_operation() -> None:
    assert validate_answer(answer(200, COMPLETION), "CreateChatCompletionResponse") == COMPLETION
    with pytest.raises(SpecMismatch, match="with `CreateChatCompletionResponse`, not `Model`"):
        validate_answer(answer(200, COMPLETION), "Model")
    with pytest.raises(SpecMismatch, match="never answers 201"):
        validate_answer(answer(201, COMPLETION), "CreateChatCompletionResponse")
    text = httpx.Response(
        200, text="hi", request=httpx.Request("POST", "http://gateway/v1/chat/completions")
    )
    with pytest.raises(SpecMismatch, match="not text/plain"):
        validate_answer(text, "CreateChatCompletionResponse")
    with pytest.raises(SpecMismatch, match="'refusal' is a required property"):
        validate_answer(
            answer(200, without(COMPLETION, ("choices", 0, "message", "refusal"))),
            "CreateChatCompletionResponse",
        )


def test_a_429s_retry_after_is_a_whole_number_of_seconds() -> None:
    validate_answer(answer(429, ERROR, headers={"retry-after": "7"}), "ErrorResponse")
    validate_answer(answer(429, ERROR), "ErrorResponse")  # the document lets it be left out
    for wrong in ("0", "soon", "1.5"):
        with pytest.raises(SpecMismatch, match="the `Retry-After` header"):
            validate_answer(answer(429, ERROR, headers={"retry-after": wrong}), "ErrorResponse")
    with pytest.raises(SpecMismatch, match="'code' is a required property"):
        validate_answer(answer(400, without(ERROR, ("error", "code"))), "ErrorResponse")


# -- streams -------------------------------------------------------------------------------------


def test_a_chat_stream_is_checked_event_by_event() -> None:
    last = replaced(CHUNK, ("choices", 0, "finish_reason"), "stop")
    events = [sse(CHUNK), sse(last), sse("[DONE]")]
    assert validate_stream(events, CHAT_CHUNKS) == [CHUNK, last]
    wrong = replaced(CHUNK, ("choices", 0, "delta", "content"), 5)
    with pytest.raises(SpecMismatch, match="event 2 of the stream does not match"):
        validate_stream([sse(CHUNK), sse(wrong), sse("[DONE]")])
    with pytest.raises(SpecMismatch, match="without `data: \\[DONE\\]`"):
        validate_stream([sse(CHUNK), sse(last)])
    with pytest.raises(SpecMismatch, match="event 3 of the stream comes after"):
        validate_stream([sse(CHUNK), sse("[DONE]"), sse(last)])
    with pytest.raises(SpecMismatch, match="is not JSON"):
        validate_stream([sse("{'single': 'quotes'}")])
    with pytest.raises(SpecMismatch, match="no event"):
        validate_stream([])
    with pytest.raises(SpecMismatch, match="is named 'chunk'"):
        validate_stream([sse(CHUNK, event="chunk"), sse("[DONE]")])


def test_a_chat_stream_may_end_with_an_error_envelope_and_nothing_else() -> None:
    assert validate_stream([sse(CHUNK), sse(ERROR)]) == [CHUNK, ERROR]
    assert validate_stream([sse(CHUNK), sse(ERROR), sse("[DONE]")]) == [CHUNK, ERROR]
    with pytest.raises(SpecMismatch, match="after the stream's error"):
        validate_stream([sse(ERROR), sse(CHUNK)])
    with pytest.raises(SpecMismatch, match="'code' is a required property"):
        validate_stream([sse(CHUNK), sse(without(ERROR, ("error", "code")))])


def test_a_responses_stream_names_each_event_by_its_type() -> None:
    error = {
        "type": "error",
        "code": "server_error",
        "message": "boom",
        "param": None,
        "sequence_number": 0,
    }
    assert validate_stream([sse(error, event="error")], RESPONSE_EVENTS) == [error]
    with pytest.raises(SpecMismatch, match="is named 'message', its data says 'error'"):
        validate_stream([sse(error)], RESPONSE_EVENTS)


# -- loading -----------------------------------------------------------------------------------


def test_the_converted_document_is_cached_by_its_hash(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "openapi: 3.1.0\nservers: [{url: 'https://api.example.com/v1'}]\npaths: {}\n"
        "components:\n  schemas:\n    Day:\n      type: string\n      nullable: true\n"
        "      example: 2024-10-01\n"
    )
    cache = tmp_path / "cache"
    first = openai_spec.load(spec, cache)
    assert first["components"]["schemas"]["Day"] == {
        "type": ["string", "null"],
        "example": "2024-10-01",
    }
    (stored,) = cache.glob("*.json")
    assert json.loads(stored.read_text()) == first
    stored.write_text(json.dumps({"read": "from the cache"}))
    assert openai_spec.load(spec, cache) == {"read": "from the cache"}
    stored.write_text("{truncated")
    assert openai_spec.load(spec, cache) == first
    spec.write_text(spec.read_text().replace("2024-10-01", "2025-01-01"))
    changed = openai_spec.load(spec, cache)
    assert changed["components"]["schemas"]["Day"]["example"] == "2025-01-01"
    assert len(list(cache.glob("*.json"))) == 1  # the older conversion is gone


# -- the nullable rewrite, whatever the schema and the value -----------------------------------

_TYPED = st.fixed_dictionaries(
    {"type": st.sampled_from(["string", "integer", "number", "boolean", "object", "array"])},
    optional={
        "enum": st.lists(
            st.one_of(st.text(max_size=3), st.integers(-3, 3)), min_size=1, max_size=3
        ),
        "minimum": st.integers(-3, 3),
        "required": st.just(["a"]),
        "items": st.just({"type": "integer"}),
    },
)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-5, 5) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("ab"), inner),
    max_leaves=6,
)


def _accepts(schemas: dict[str, Any], name: str, value: Any) -> bool:
    resource = DRAFT202012.create_resource({"components": {"schemas": schemas}})
    registry = Registry().with_resource("urn:t", resource)
    checker = Draft202012Validator({"$ref": f"urn:t#/components/schemas/{name}"}, registry=registry)
    return bool(checker.is_valid(value))


@given(base=_TYPED, value=_VALUES, spelling=st.sampled_from(["inline", "ref", "allOf"]))
def test_a_nullable_schema_takes_null_and_exactly_what_the_schema_takes(
    base: dict[str, Any], value: Any, spelling: str
) -> None:
    nullable = {
        "inline": {**base, "nullable": True},
        "ref": {"$ref": "#/components/schemas/Base", "nullable": True},
        "allOf": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"nullable": True}]},
    }[spelling]
    schemas = as_json_schema(
        {"components": {"schemas": {"Base": copy.deepcopy(base), "Nullable": nullable}}}
    )["components"]["schemas"]
    assert _accepts(schemas, "Nullable", value) == (
        value is None or _accepts(schemas, "Base", value)
    )
