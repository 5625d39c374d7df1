"""Errors in OpenAI's shape, keys, slow and stalled models, the request log, and routes under any
prefix."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.fakes.openai_upstream import FakeOpenAI
from tests.fakes.wire.openai.support import API_KEY, MODEL, user_turn


def test_error_500(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as info:
        client.chat.completions.create(model="fake-error-500", messages=user_turn())
    assert info.value.status_code == 500
    assert info.value.type == "server_error"
    assert "server had an error" in info.value.message


def test_error_429(client: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(model="fake-error-429", messages=user_turn())
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.type == "requests"


def test_error_400(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="fake-error-400", messages=user_turn())
    assert info.value.param == "messages"
    assert info.value.type == "invalid_request_error"


def test_error_401_leaky_echoes_the_key(client: openai.OpenAI) -> None:
    with pytest.raises(openai.AuthenticationError) as info:
        client.chat.completions.create(model="fake-error-401-leaky", messages=user_turn())
    assert API_KEY in info.value.message


def test_malformed_bodies_are_openai_400s(fake: FakeOpenAI) -> None:
    url = f"{fake.base_url}/chat/completions"
    headers = {"Authorization": f"Bearer {API_KEY}"}
    not_json = httpx.post(url, headers=headers, content=b"{nope")
    no_messages = httpx.post(url, headers=headers, json={"model": MODEL})
    no_model = httpx.post(url, headers=headers, json={"messages": user_turn()})
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
            model="fake-slow", messages=user_turn()
        )


def test_stalled_stream_sends_first_chunk_then_stalls(client: openai.OpenAI) -> None:
    stream = client.with_options(timeout=0.3).chat.completions.create(
        model="fake-stall-stream", messages=user_turn(), stream=True
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
        model=MODEL, messages=user_turn("record me"), temperature=0.5, user="u-1"
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
        reply = prefixed.chat.completions.create(model=MODEL, messages=user_turn("prefixed"))
        streamed = prefixed.chat.completions.create(
            model=MODEL, messages=user_turn("prefixed"), stream=True
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
            f"{open_fake.base_url}/chat/completions", json={"model": MODEL, "messages": user_turn()}
        )
        assert response.status_code == 200, response.text
        assert "authorization" not in open_fake.requests[0].headers


def test_error_503_and_404(client: openai.OpenAI) -> None:
    with pytest.raises(openai.InternalServerError) as overloaded:
        client.chat.completions.create(model="fake-error-503", messages=user_turn())
    assert overloaded.value.status_code == 503
    assert overloaded.value.type == "server_error"
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="fake-error-404", messages=user_turn())
    assert missing.value.code == "model_not_found"
    assert "`fake-error-404` does not exist" in missing.value.message


def test_an_error_event_ends_a_stream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="fake-stream-error", messages=user_turn(), stream=True
    )
    iterator = iter(stream)
    assert next(iterator).choices[0].delta.role == "assistant"
    with pytest.raises(openai.APIError) as failed:
        next(iterator)
    assert failed.value.type == "server_error"
