"""generateContent and streamGenerateContent as the official `google-genai` SDK parses them: the
API versions, SSE framing, JSON arrays, snake_case fields."""

from __future__ import annotations

import json

from google import genai
from google.genai import types

from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.wire.gemini.support import (
    API_KEY,
    CONTENTS,
    EXPECTED_PROMPT_TOKENS,
    EXPECTED_TEXT,
    MODEL,
    SYSTEM,
    generate_config,
    raw_call,
    sdk_client,
    user_turn,
)

# -- generateContent ------------------------------------------------------------------------------


def test_base_url_has_no_api_version(fake: FakeGemini) -> None:
    assert fake.port > 0
    assert fake.base_url == f"http://127.0.0.1:{fake.port}"


def test_plain_generate(fake: FakeGemini, client: genai.Client) -> None:
    fake.clear()
    response = client.models.generate_content(
        model=MODEL, contents=CONTENTS, config=generate_config(system_instruction=SYSTEM)
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
        model=MODEL, contents=CONTENTS, config=generate_config(system_instruction=SYSTEM)
    )
    assert bare.text == with_system.text == EXPECTED_TEXT
    assert bare.usage_metadata is not None
    assert with_system.usage_metadata is not None
    assert bare.usage_metadata.prompt_token_count == EXPECTED_PROMPT_TOKENS - 3
    assert with_system.usage_metadata.prompt_token_count == EXPECTED_PROMPT_TOKENS


def test_default_sdk_api_version_v1_is_served(fake: FakeGemini) -> None:
    fake.clear()
    with sdk_client(fake.base_url, api_version=None) as default_client:
        response = default_client.models.generate_content(model=MODEL, contents="hello there")
    assert response.text == "Echo: hello there"
    assert fake.requests[-1].path == f"/v1/models/{MODEL}:generateContent"


def test_streamed_generate_matches_plain(fake: FakeGemini, client: genai.Client) -> None:
    config = generate_config(system_instruction=SYSTEM)
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
    response = raw_call(
        fake, "streamGenerateContent", {"contents": [user_turn("hi there")]}, alt="sse"
    )
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
    response = raw_call(fake, "streamGenerateContent", {"contents": [user_turn("hi there")]})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert b"\n,\r\n" in response.content
    items = response.json()
    assert isinstance(items, list)
    assert len(items) == 3
    text = "".join(i["candidates"][0]["content"]["parts"][0]["text"] for i in items)
    assert text == "Echo: hi there"

    error = raw_call(fake, "streamGenerateContent", {"contents": []})
    assert error.status_code == 400
    assert error.json()[0]["error"]["status"] == "INVALID_ARGUMENT"


def test_snake_case_and_single_object_repeated_fields_are_accepted(fake: FakeGemini) -> None:
    body = {
        "system_instruction": {"parts": {"text": "Be brief."}},
        "contents": [{"parts": [{"text": "one two three"}]}],
        "generation_config": {"max_output_tokens": 2, "stop_sequences": ["zzz"]},
    }
    response = raw_call(fake, "generateContent", body)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply["candidates"][0]["content"]["parts"] == [{"text": "Echo: one"}]
    assert reply["candidates"][0]["finishReason"] == "MAX_TOKENS"
    assert reply["usageMetadata"]["promptTokenCount"] == 2 + 3
