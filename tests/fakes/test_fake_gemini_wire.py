"""The fake Gemini upstream must be parseable, field for field, by the official google-genai SDK."""

from __future__ import annotations

import array
import hashlib
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from tests.fakes.gemini_upstream import FakeGemini

API_KEY = "gm-test"
MODEL = "gemini-2.5-flash"
QUESTION = "What is the capital of France today?"
CONTENTS = [
    types.Content(role="user", parts=[types.Part.from_text(text="first question")]),
    types.Content(role="model", parts=[types.Part.from_text(text="first answer")]),
    types.Content(role="user", parts=[types.Part.from_text(text=QUESTION)]),
]
SYSTEM = "You are terse."
EXPECTED_TEXT = "Echo: " + QUESTION
EXPECTED_PROMPT_TOKENS = 3 + 2 + 2 + 7  # system + three turns
SEARCH = types.FunctionDeclaration(
    name="search",
    description="Search the web.",
    parameters=types.Schema(
        type=types.Type.OBJECT,
        properties={"query": types.Schema(type=types.Type.STRING)},
        required=["query"],
    ),
)
LOOKUP = types.FunctionDeclaration(
    name="lookup",
    parameters=types.Schema(
        type=types.Type.OBJECT, properties={"query": types.Schema(type=types.Type.STRING)}
    ),
)
NO_AFC = types.AutomaticFunctionCallingConfig(disable=True)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGemini]:
    with FakeGemini(slow_seconds=0.3) as server:
        yield server


def _client(base_url: str, api_key: str = API_KEY, api_version: str | None = "v1beta") -> Any:
    return genai.Client(
        api_key=api_key,
        http_options=types.HttpOptions(
            base_url=base_url,
            api_version=api_version,
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )


@pytest.fixture(scope="module")
def client(fake: FakeGemini) -> Iterator[genai.Client]:
    with _client(fake.base_url) as c:
        yield c


def _config(**kwargs: Any) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(automatic_function_calling=NO_AFC, **kwargs)


def _raw(fake: FakeGemini, method: str, body: object, **params: str) -> httpx.Response:
    return httpx.post(
        f"{fake.base_url}/v1beta/models/{MODEL}:{method}",
        headers={"x-goog-api-key": API_KEY},
        params=params,
        json=body,
    )


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


# -- generateContent ------------------------------------------------------------------------------


def test_base_url_has_no_api_version(fake: FakeGemini) -> None:
    assert fake.port > 0
    assert fake.base_url == f"http://127.0.0.1:{fake.port}"


def test_plain_generate(fake: FakeGemini, client: genai.Client) -> None:
    fake.clear()
    response = client.models.generate_content(
        model=MODEL, contents=CONTENTS, config=_config(system_instruction=SYSTEM)
    )

    assert response.text == EXPECTED_TEXT
    assert response.model_version == MODEL
    assert response.response_id
    assert response.candidates is not None
    candidate = response.candidates[0]
    assert candidate.finish_reason == types.FinishReason.STOP
    assert candidate.index == 0
    assert candidate.content is not None
    assert candidate.content.role == "model"
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == EXPECTED_PROMPT_TOKENS
    assert usage.candidates_token_count == 8
    assert usage.total_token_count == EXPECTED_PROMPT_TOKENS + 8
    assert usage.cached_content_token_count is None
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details[0].token_count == EXPECTED_PROMPT_TOKENS

    (recorded,) = fake.requests
    assert recorded.path == f"/v1beta/models/{MODEL}:generateContent"
    assert recorded.headers["x-goog-api-key"] == API_KEY
    assert recorded.json["systemInstruction"]["parts"] == [{"text": SYSTEM}]
    assert [c["role"] for c in recorded.json["contents"]] == ["user", "model", "user"]


def test_system_instruction_counts_towards_prompt(client: genai.Client) -> None:
    bare = client.models.generate_content(model=MODEL, contents=CONTENTS)
    with_system = client.models.generate_content(
        model=MODEL, contents=CONTENTS, config=_config(system_instruction=SYSTEM)
    )
    assert bare.text == with_system.text == EXPECTED_TEXT
    assert bare.usage_metadata is not None
    assert with_system.usage_metadata is not None
    assert bare.usage_metadata.prompt_token_count == EXPECTED_PROMPT_TOKENS - 3
    assert with_system.usage_metadata.prompt_token_count == EXPECTED_PROMPT_TOKENS


def test_default_sdk_api_version_v1_is_served(fake: FakeGemini) -> None:
    fake.clear()
    with _client(fake.base_url, api_version=None) as default_client:
        response = default_client.models.generate_content(model=MODEL, contents="hello there")
    assert response.text == "Echo: hello there"
    assert fake.requests[-1].path == f"/v1/models/{MODEL}:generateContent"


def test_streamed_generate_matches_plain(fake: FakeGemini, client: genai.Client) -> None:
    config = _config(system_instruction=SYSTEM)
    plain = client.models.generate_content(model=MODEL, contents=CONTENTS, config=config)
    fake.clear()
    chunks = list(
        client.models.generate_content_stream(model=MODEL, contents=CONTENTS, config=config)
    )

    assert fake.requests[0].path == f"/v1beta/models/{MODEL}:streamGenerateContent"
    assert fake.requests[0].query == {"alt": "sse"}
    assert len(chunks) == len(EXPECTED_TEXT.split())  # one event per word
    assert "".join(c.text or "" for c in chunks) == plain.text == EXPECTED_TEXT
    assert [c.text for c in chunks[:3]] == ["Echo:", " What", " is"]
    finish = [c.candidates[0].finish_reason for c in chunks if c.candidates]
    assert finish == [None] * (len(chunks) - 1) + [types.FinishReason.STOP]
    assert chunks[-1].usage_metadata == plain.usage_metadata
    assert len({c.response_id for c in chunks}) == 1
    # Earlier chunks carry running usage, as Gemini's do.
    assert chunks[0].usage_metadata is not None
    assert chunks[0].usage_metadata.candidates_token_count == 1


def test_sse_framing_is_crlf_crlf(fake: FakeGemini) -> None:
    response = _raw(fake, "streamGenerateContent", {"contents": [_user("hi there")]}, alt="sse")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    events = response.content.split(b"\r\n\r\n")
    assert events[-1] == b""
    assert all(e.startswith(b"data: ") and b"\n" not in e for e in events[:-1])
    payloads = [json.loads(e[6:]) for e in events[:-1]]
    assert [p["candidates"][0]["content"]["parts"][0]["text"] for p in payloads] == [
        "Echo:",
        " hi",
        " there",
    ]
    assert "finishReason" not in payloads[0]["candidates"][0]
    assert payloads[-1]["candidates"][0]["finishReason"] == "STOP"
    assert payloads[-1]["usageMetadata"] == {
        "promptTokenCount": 2,
        "candidatesTokenCount": 3,
        "totalTokenCount": 5,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2}],
    }


def test_stream_without_alt_sse_is_a_json_array(fake: FakeGemini) -> None:
    response = _raw(fake, "streamGenerateContent", {"contents": [_user("hi there")]})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert b"\n,\r\n" in response.content
    items = response.json()
    assert isinstance(items, list)
    assert len(items) == 3
    text = "".join(i["candidates"][0]["content"]["parts"][0]["text"] for i in items)
    assert text == "Echo: hi there"

    error = _raw(fake, "streamGenerateContent", {"contents": []})
    assert error.status_code == 400
    assert error.json()[0]["error"]["status"] == "INVALID_ARGUMENT"


def test_snake_case_and_single_object_repeated_fields_are_accepted(fake: FakeGemini) -> None:
    body = {
        "system_instruction": {"parts": {"text": "Be brief."}},
        "contents": [{"parts": [{"text": "one two three"}]}],
        "generation_config": {"max_output_tokens": 2, "stop_sequences": ["zzz"]},
    }
    response = _raw(fake, "generateContent", body)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["candidates"][0]["content"]["parts"] == [{"text": "Echo: one"}]
    assert reply["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert reply["usageMetadata"]["promptTokenCount"] == 2 + 3


# -- function calling -----------------------------------------------------------------------------


def test_function_call_plain(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL,
        contents=CONTENTS,
        config=_config(tools=[types.Tool(function_declarations=[SEARCH, LOOKUP])]),
    )
    calls = response.function_calls
    assert calls is not None
    assert len(calls) == 1
    assert calls[0].name == "search"
    assert calls[0].args == {"query": QUESTION}
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == len(
        json.dumps({"query": QUESTION}, separators=(",", ":")).split()
    )


def test_json_mode_answers_json_its_response_schema_accepts(client: genai.Client) -> None:
    schema = types.Schema(
        type=types.Type.OBJECT,
        properties={
            "title": types.Schema(type=types.Type.STRING),
            "nights": types.Schema(type=types.Type.INTEGER),
            "kind": types.Schema(type=types.Type.STRING, format="enum", enum=["city", "sea"]),
            "stops": types.Schema(
                type=types.Type.ARRAY, items=types.Schema(type=types.Type.STRING)
            ),
        },
    )
    config = _config(response_mime_type="application/json", response_schema=schema)
    response = client.models.generate_content(model=MODEL, contents=CONTENTS, config=config)
    assert json.loads(response.text or "") == {
        "title": QUESTION,
        "nights": len(QUESTION.split()),
        "kind": "city",
        "stops": [QUESTION],
    }
    free = _config(response_mime_type="application/json")
    answer = client.models.generate_content(model=MODEL, contents=CONTENTS, config=free)
    assert json.loads(answer.text or "") == {"query": QUESTION}


def test_function_call_modes(client: genai.Client) -> None:
    tools = [types.Tool(function_declarations=[SEARCH, LOOKUP])]
    forced = client.models.generate_content(
        model=MODEL,
        contents=CONTENTS,
        config=_config(
            tools=tools,
            tool_config=types.ToolConfig(
                function_calling_config=types.FunctionCallingConfig(
                    mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["lookup"]
                )
            ),
        ),
    )
    assert forced.function_calls is not None
    assert forced.function_calls[0].name == "lookup"

    none = client.models.generate_content(
        model=MODEL,
        contents=CONTENTS,
        config=_config(
            tools=tools,
            tool_config=types.ToolConfig(
                function_calling_config=types.FunctionCallingConfig(
                    mode=types.FunctionCallingConfigMode.NONE
                )
            ),
        ),
    )
    assert none.function_calls is None
    assert none.text == EXPECTED_TEXT


def test_function_call_streamed(client: genai.Client) -> None:
    config = _config(tools=[types.Tool(function_declarations=[SEARCH])])
    chunks = list(
        client.models.generate_content_stream(model=MODEL, contents=CONTENTS, config=config)
    )
    assert len(chunks) == 1  # a functionCall arrives whole
    (chunk,) = chunks
    assert chunk.function_calls is not None
    assert chunk.function_calls[0].name == "search"
    assert chunk.function_calls[0].args == {"query": QUESTION}
    assert chunk.candidates is not None
    assert chunk.candidates[0].finish_reason == types.FinishReason.STOP
    assert chunk.usage_metadata is not None
    assert chunk.usage_metadata.total_token_count is not None


def _answered(result: dict[str, Any]) -> list[types.Content]:
    return [
        types.Content(role="user", parts=[types.Part.from_text(text="Weather in Paris?")]),
        types.Content(
            role="model",
            parts=[types.Part.from_function_call(name="search", args={"query": "Paris"})],
        ),
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="search", response=result)],
        ),
    ]


def test_function_response_turn_is_answered_with_text(client: genai.Client) -> None:
    config = _config(tools=[types.Tool(function_declarations=[SEARCH])])
    result = client.models.generate_content(
        model=MODEL, contents=_answered({"result": "Sunny, 21 C"}), config=config
    )
    assert result.function_calls is None
    assert result.text == "Echo: Sunny, 21 C"

    structured = client.models.generate_content(
        model=MODEL, contents=_answered({"temp": 21, "sky": "clear"}), config=config
    )
    assert structured.text == 'Echo: {"temp":21,"sky":"clear"}'


def test_function_response_must_follow_a_function_call(client: genai.Client) -> None:
    orphan = [
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name="search", response={"result": "x"})],
        )
    ]
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents=orphan)
    assert info.value.code == 400
    assert info.value.status == "INVALID_ARGUMENT"
    assert "immediately after a function call turn" in (info.value.message or "")

    wrong_name = _answered({"result": "x"})
    assert wrong_name[2].parts is not None
    wrong_name[2].parts[0] = types.Part.from_function_response(name="other", response={})
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model=MODEL, contents=wrong_name)
    assert info.value.code == 400
    assert "other" in (info.value.message or "")


# -- parts and generation config ------------------------------------------------------------------


def test_inline_image_counts_as_image(client: genai.Client) -> None:
    contents = [
        types.Content(
            role="user",
            parts=[
                types.Part.from_text(text="describe"),
                types.Part.from_bytes(data=PNG, mime_type="image/png"),
            ],
        )
    ]
    response = client.models.generate_content(model=MODEL, contents=contents)
    assert response.text == "Echo: describe [image]"
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_token_count == 2
    assert usage.prompt_tokens_details is not None
    modalities = {d.modality: d.token_count for d in usage.prompt_tokens_details}
    assert modalities == {types.MediaModality.TEXT: 1, types.MediaModality.IMAGE: 1}


def test_max_output_tokens_truncates(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL, contents=QUESTION, config=_config(max_output_tokens=3)
    )
    assert response.text == "Echo: What is"
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.MAX_TOKENS
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count == 3

    streamed = list(
        client.models.generate_content_stream(
            model=MODEL, contents=QUESTION, config=_config(max_output_tokens=3)
        )
    )
    assert "".join(c.text or "" for c in streamed) == "Echo: What is"
    assert streamed[-1].candidates is not None
    assert streamed[-1].candidates[0].finish_reason == types.FinishReason.MAX_TOKENS


def test_stop_sequence_cuts_the_reply(client: genai.Client) -> None:
    response = client.models.generate_content(
        model=MODEL, contents=QUESTION, config=_config(stop_sequences=["capital", "France"])
    )
    assert response.text == "Echo: What is the "
    assert response.candidates is not None
    assert response.candidates[0].finish_reason == types.FinishReason.STOP


def test_safety_block(client: genai.Client) -> None:
    response = client.models.generate_content(model="fake-safety", contents=QUESTION)
    assert response.text is None
    assert response.candidates is not None
    candidate = response.candidates[0]
    assert candidate.finish_reason == types.FinishReason.SAFETY
    assert candidate.content is None
    assert candidate.safety_ratings
    assert any(r.blocked for r in candidate.safety_ratings)
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_token_count is None

    (chunk,) = list(client.models.generate_content_stream(model="fake-safety", contents="hi"))
    assert chunk.candidates is not None
    assert chunk.candidates[0].finish_reason == types.FinishReason.SAFETY


def test_cached_model_reports_cached_tokens(client: genai.Client) -> None:
    response = client.models.generate_content(model="fake-cached", contents=QUESTION)
    usage = response.usage_metadata
    assert usage is not None
    assert usage.cached_content_token_count == 5
    assert usage.prompt_token_count == 7  # the cached tokens are part of the prompt
    assert usage.total_token_count == 7 + 8


def test_count_tokens(client: genai.Client) -> None:
    counted = client.models.count_tokens(model=MODEL, contents=CONTENTS)
    assert counted.total_tokens == EXPECTED_PROMPT_TOKENS - 3


# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["assistant", "system"])
def test_bad_role_is_invalid_argument(fake: FakeGemini, role: str) -> None:
    body = {"contents": [_user("hi"), {"role": role, "parts": [{"text": "x"}]}]}
    response = _raw(fake, "generateContent", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith("Please use a valid role: user, model.")
    assert role in error["message"]


def test_unknown_fields_are_rejected(fake: FakeGemini) -> None:
    top = _raw(fake, "generateContent", {"contents": [_user("hi")], "messages": []})
    assert top.status_code == 400
    assert top.json()["error"]["message"] == (
        'Invalid JSON payload received. Unknown name "messages": Cannot find field.'
    )

    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    schema["additionalProperties"] = False
    nested = _raw(
        fake,
        "generateContent",
        {
            "contents": [_user("hi")],
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": schema}]}],
        },
    )
    assert nested.status_code == 400
    error = nested.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert (
        'Unknown name "additionalProperties" at \'tools[0].function_declarations[0]'
        in (error["message"])
    )
    violation = error["details"][0]["fieldViolations"][0]
    assert violation["field"] == "tools[0].function_declarations[0].parameters"


def test_field_validation_messages(fake: FakeGemini) -> None:
    empty = _raw(fake, "generateContent", {"contents": []})
    assert empty.status_code == 400
    assert empty.json()["error"]["message"] == (
        "* GenerateContentRequest.contents: contents is not specified\n"
    )

    config = {"temperature": 2.5, "stopSequences": list("abcdef")}
    bad_config = _raw(
        fake, "generateContent", {"contents": [_user("hi")], "generationConfig": config}
    )
    assert bad_config.status_code == 400
    message = bad_config.json()["error"]["message"]
    assert "* GenerateContentRequest.generation_config.temperature:" in message
    assert "* GenerateContentRequest.generation_config.stop_sequences:" in message

    two_kinds = _raw(
        fake,
        "generateContent",
        {"contents": [{"parts": [{"text": "a", "inlineData": {"mimeType": "image/png"}}]}]},
    )
    assert two_kinds.status_code == 400
    assert "Oneof field 'data' is already set" in two_kinds.json()["error"]["message"]

    bad_base64 = _raw(
        fake,
        "generateContent",
        {"contents": [{"parts": [{"inlineData": {"mimeType": "image/png", "data": "%%%"}}]}]},
    )
    assert bad_base64.status_code == 400
    assert "Base64 decoding failed" in bad_base64.json()["error"]["message"]


def test_embedding_model_does_not_generate(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model="text-embedding-004", contents="hi")
    assert info.value.code == 404
    assert info.value.status == "NOT_FOUND"


# -- errors ---------------------------------------------------------------------------------------


def test_resource_exhausted_429(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as info:
        client.models.generate_content(model="fake-exhausted", contents="hi")
    assert info.value.code == 429
    assert info.value.status == "RESOURCE_EXHAUSTED"
    assert info.value.message == "Resource has been exhausted"
    assert info.value.details["error"]["details"] == [
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "7s"}
    ]
    with pytest.raises(errors.ClientError) as streamed:
        list(client.models.generate_content_stream(model="fake-exhausted", contents="hi"))
    assert streamed.value.code == 429


def test_server_errors(client: genai.Client) -> None:
    with pytest.raises(errors.ServerError) as internal:
        client.models.generate_content(model="fake-error-500", contents="hi")
    assert internal.value.code == 500
    assert internal.value.status == "INTERNAL"

    with pytest.raises(errors.ServerError) as unavailable:
        client.models.generate_content(model="fake-unavailable", contents="hi")
    assert unavailable.value.code == 503
    assert unavailable.value.status == "UNAVAILABLE"


def test_slow_model_sleeps_first(client: genai.Client) -> None:
    started = time.monotonic()
    response = client.models.generate_content(model="fake-slow", contents="hi")
    assert time.monotonic() - started >= 0.3
    assert response.text == "Echo: hi"


def test_stalled_stream_sends_first_chunk_then_stalls(fake: FakeGemini) -> None:
    url = f"{fake.base_url}/v1beta/models/fake-stall-stream:streamGenerateContent?alt=sse"
    body = {"contents": [_user("one two")]}
    with httpx.stream("POST", url, headers={"x-goog-api-key": API_KEY}, json=body) as response:
        stamps = []
        for line in response.iter_lines():
            if line.startswith("data: "):
                stamps.append(time.monotonic())
    assert len(stamps) == 3
    assert stamps[1] - stamps[0] >= 0.25


# -- auth -----------------------------------------------------------------------------------------


def test_missing_key_is_403_permission_denied(fake: FakeGemini) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1beta/models/{MODEL}:generateContent", json={"contents": []}
    )
    assert response.status_code == 403
    assert response.json() == {
        "error": {
            "code": 403,
            "message": "Method doesn't allow unregistered callers (callers without established "
            "identity). Please use API Key or other form of API consumer identity to call "
            "this API.",
            "status": "PERMISSION_DENIED",
        }
    }

    bearer = httpx.get(f"{fake.base_url}/v1beta/models", headers={"Authorization": "Bearer t"})
    assert bearer.status_code == 401
    assert bearer.json()["error"]["status"] == "UNAUTHENTICATED"


def test_key_in_query_string(fake: FakeGemini) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1beta/models/{MODEL}:generateContent",
        params={"key": API_KEY},
        json={"contents": [_user("via query")]},
    )
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == "Echo: via query"


def test_wrong_key_with_expected_key() -> None:
    with FakeGemini(expected_key="right-key") as strict:
        with (
            _client(strict.base_url, api_key="wrong-key") as bad,
            pytest.raises(errors.ClientError) as info,
        ):
            bad.models.generate_content(model=MODEL, contents="hi")
        assert info.value.code == 400
        assert info.value.status == "INVALID_ARGUMENT"
        assert info.value.message == "API key not valid. Please pass a valid API key."
        reasons = [d.get("reason") for d in info.value.details["error"]["details"]]
        assert "API_KEY_INVALID" in reasons
        assert "wrong-key" not in json.dumps(info.value.details)

        with _client(strict.base_url, api_key="right-key") as good:
            assert good.models.generate_content(model=MODEL, contents="hi").text == "Echo: hi"


# -- embeddings and models ------------------------------------------------------------------------


def _expected_vector(text: str, dims: int) -> list[float]:
    raw = hashlib.shake_256(text.encode()).digest(4 * dims)
    scale = 2.0 / 4294967295.0
    return array.array("f", [u * scale - 1.0 for u in memoryview(raw).cast("I")]).tolist()


def test_embed_content_batch(fake: FakeGemini, client: genai.Client) -> None:
    fake.clear()
    result = client.models.embed_content(
        model="text-embedding-004", contents=["hello world", "goodbye"]
    )
    assert result.embeddings is not None
    assert [e.values for e in result.embeddings] == [
        _expected_vector("hello world", 8),
        _expected_vector("goodbye", 8),
    ]
    (recorded,) = fake.requests
    assert recorded.path == "/v1beta/models/text-embedding-004:batchEmbedContents"
    assert recorded.json["requests"][0]["model"] == "models/text-embedding-004"

    sized = client.models.embed_content(
        model="text-embedding-004",
        contents=["hello world"],
        config=types.EmbedContentConfig(output_dimensionality=4, task_type="RETRIEVAL_QUERY"),
    )
    assert sized.embeddings is not None
    assert sized.embeddings[0].values == _expected_vector("hello world", 4)


def test_embed_content_single_endpoint(fake: FakeGemini) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1beta/models/text-embedding-004:embedContent",
        headers={"x-goog-api-key": API_KEY},
        json={"content": {"parts": [{"text": "hello world"}]}, "outputDimensionality": 3},
    )
    assert response.status_code == 200
    assert response.json() == {"embedding": {"values": _expected_vector("hello world", 3)}}


def test_models_list(client: genai.Client) -> None:
    models = list(client.models.list())
    assert [m.name for m in models] == [
        "models/gemini-2.5-flash",
        "models/gemini-2.5-pro",
        "models/text-embedding-004",
    ]
    flash = models[0]
    assert flash.display_name == "Gemini 2.5 Flash"
    assert flash.input_token_limit == 1048576
    assert flash.supported_actions is not None
    assert "generateContent" in flash.supported_actions
    assert models[2].supported_actions == ["embedContent"]

    paged = list(client.models.list(config={"page_size": 2}))
    assert [m.name for m in paged] == [m.name for m in models]


def test_unknown_url_is_google_html_404(fake: FakeGemini) -> None:
    response = httpx.get(f"{fake.base_url}/v1beta/nope", headers={"x-goog-api-key": API_KEY})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "/v1beta/nope" in response.text


# -- lifecycle ------------------------------------------------------------------------------------


async def test_async_context_manager() -> None:
    async with FakeGemini() as server:
        assert server.running
        async with httpx.AsyncClient() as http:
            response = await http.get(
                f"{server.base_url}/v1beta/models/{MODEL}", headers={"x-goog-api-key": "k"}
            )
        assert response.json()["name"] == f"models/{MODEL}"
    assert not server.running


def test_client_errors_400_and_404(client: genai.Client) -> None:
    with pytest.raises(errors.ClientError) as invalid:
        client.models.generate_content(model="fake-error-400", contents="hi")
    assert (invalid.value.code, invalid.value.status) == (400, "INVALID_ARGUMENT")
    with pytest.raises(errors.ClientError) as missing:
        client.models.generate_content(model="fake-error-404", contents="hi")
    assert (missing.value.code, missing.value.status) == (404, "NOT_FOUND")
    assert "models/fake-error-404 is not found" in (missing.value.message or "")
