"""What the fake checks as Google's front end does (roles, unknown fields, field messages), and
its errors: 429, 5xx, slow and stalled models, keys."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from google import genai
from google.genai import errors

from tests.fakes.gemini_upstream import FakeGemini
from tests.fakes.wire.gemini.support import API_KEY, MODEL, raw_call, sdk_client, user_turn

# -- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["assistant", "system"])
def test_bad_role_is_invalid_argument(fake: FakeGemini, role: str) -> None:
    body = {"contents": [user_turn("hi"), {"role": role, "parts": [{"text": "x"}]}]}
    response = raw_call(fake, "generateContent", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == 400
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"].startswith("Please use a valid role: user, model.")
    assert role in error["message"]


def test_unknown_fields_are_rejected(fake: FakeGemini) -> None:
    top = raw_call(fake, "generateContent", {"contents": [user_turn("hi")], "messages": []})
    assert top.status_code == 400
    assert top.json()["error"]["message"] == (
        'Invalid JSON payload received. Unknown name "messages": Cannot find field.'
    )

    schema = {"type": "object", "properties": {"q": {"type": "string"}}}
    schema["additionalProperties"] = False
    nested = raw_call(
        fake,
        "generateContent",
        {
            "contents": [user_turn("hi")],
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
    empty = raw_call(fake, "generateContent", {"contents": []})
    assert empty.status_code == 400
    assert empty.json()["error"]["message"] == (
        "* GenerateContentRequest.contents: contents is not specified\n"
    )

    config = {"temperature": 2.5, "stopSequences": list("abcdef")}
    bad_config = raw_call(
        fake, "generateContent", {"contents": [user_turn("hi")], "generationConfig": config}
    )
    assert bad_config.status_code == 400
    message = bad_config.json()["error"]["message"]
    assert "* GenerateContentRequest.generation_config.temperature:" in message
    assert "* GenerateContentRequest.generation_config.stop_sequences:" in message

    two_kinds = raw_call(
        fake,
        "generateContent",
        {"contents": [{"parts": [{"text": "a", "inlineData": {"mimeType": "image/png"}}]}]},
    )
    assert two_kinds.status_code == 400
    assert "Oneof field 'data' is already set" in two_kinds.json()["error"]["message"]

    bad_base64 = raw_call(
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
    body = {"contents": [user_turn("one two")]}
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
        json={"contents": [user_turn("via query")]},
    )
    assert response.status_code == 200
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == "Echo: via query"


def test_wrong_key_with_expected_key() -> None:
    with FakeGemini(expected_key="right-key") as strict:
        with (
            sdk_client(strict.base_url, api_key="wrong-key") as bad,
            pytest.raises(errors.ClientError) as info,
        ):
            bad.models.generate_content(model=MODEL, contents="hi")
        assert info.value.code == 400
        assert info.value.status == "INVALID_ARGUMENT"
        assert info.value.message == "API key not valid. Please pass a valid API key."
        reasons = [d.get("reason") for d in info.value.details["error"]["details"]]
        assert "API_KEY_INVALID" in reasons
        assert "wrong-key" not in json.dumps(info.value.details)

        with sdk_client(strict.base_url, api_key="right-key") as good:
            assert good.models.generate_content(model=MODEL, contents="hi").text == "Echo: hi"
