"""Keys and versions, errors in Anthropic's shape (529, 429, 500, stream errors), slow and cached
models, token counts and the models' list."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.wire.anthropic.support import (
    API_KEY,
    EXPECTED_INPUT_TOKENS,
    MESSAGES,
    MODEL,
    RAW_HEADERS,
    SYSTEM,
    create,
    sse_events,
    user_turn,
)


def test_missing_auth_and_version(fake: FakeAnthropic) -> None:
    url = f"{fake.base_url}/v1/messages"
    body = {"model": MODEL, "max_tokens": 10, "messages": user_turn()}
    no_key = httpx.post(url, headers={"anthropic-version": "2023-06-01"}, json=body)
    assert no_key.status_code == 401
    assert no_key.json()["error"]["type"] == "authentication_error"
    assert no_key.headers["request-id"].startswith("req_")

    no_version = httpx.post(url, headers={"x-api-key": API_KEY}, json=body)
    assert no_version.status_code == 400
    assert "anthropic-version" in no_version.json()["error"]["message"]

    not_json = httpx.post(url, headers=RAW_HEADERS, content=b"{nope")
    assert not_json.status_code == 400
    assert not_json.json()["error"]["type"] == "invalid_request_error"


def test_wrong_key_with_expected_key() -> None:
    with FakeAnthropic(expected_key="sk-right") as strict:
        bad = anthropic.Anthropic(base_url=strict.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(anthropic.AuthenticationError) as info:
            bad.models.list()
        assert info.value.type == "authentication_error"
        assert "sk-wrong" not in info.value.response.text

        good = anthropic.Anthropic(base_url=strict.base_url, api_key="sk-right", max_retries=0)
        assert good.models.list().data
        via_header = httpx.get(
            f"{strict.base_url}/v1/models",
            headers={"x-api-key": "sk-right", "anthropic-version": "2023-06-01"},
        )
        assert via_header.status_code == 200


# -- special models -------------------------------------------------------------------------------


def test_overloaded_529(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.InternalServerError) as info:
        client.messages.create(model="fake-overloaded", max_tokens=10, messages=user_turn())
    assert isinstance(info.value, anthropic.OverloadedError)  # the SDK's class for 529
    assert info.value.status_code == 529
    assert info.value.type == "overloaded_error"
    assert info.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
        "request_id": info.value.request_id,
    }


def test_rate_limited_429(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError) as info:
        client.messages.create(model="fake-rate-limited", max_tokens=10, messages=user_turn())
    assert info.value.status_code == 429
    assert info.value.type == "rate_limit_error"
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.response.headers["anthropic-ratelimit-requests-remaining"] == "0"


def test_error_500(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.InternalServerError) as info:
        client.messages.create(model="fake-error-500", max_tokens=10, messages=user_turn())
    assert info.value.status_code == 500
    assert info.value.type == "api_error"


def test_stream_error_event_raises(client: anthropic.Anthropic, fake: FakeAnthropic) -> None:
    stream = client.messages.create(
        model="fake-stream-error", max_tokens=10, messages=user_turn(), stream=True
    )
    iterator = iter(stream)
    assert next(iterator).type == "message_start"
    with pytest.raises(anthropic.APIStatusError) as info:
        next(iterator)
    assert info.value.type == "overloaded_error"

    with (
        pytest.raises(anthropic.APIStatusError),
        client.messages.stream(
            model="fake-stream-error", max_tokens=10, messages=user_turn()
        ) as helper,
    ):
        helper.get_final_message()

    wire = httpx.post(
        f"{fake.base_url}/v1/messages",
        headers=RAW_HEADERS,
        json={
            "model": "fake-stream-error",
            "max_tokens": 10,
            "messages": user_turn(),
            "stream": True,
        },
    )
    assert [name for name, _ in sse_events(wire.text)] == ["message_start", "error"]


def test_slow_model_times_out(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.APITimeoutError):
        client.with_options(timeout=0.3).messages.create(
            model="fake-slow", max_tokens=10, messages=user_turn()
        )


def test_cached_model_reports_cache_reads(client: anthropic.Anthropic) -> None:
    message = create(client, model="fake-cached")
    assert message.usage.cache_read_input_tokens == 5
    assert message.usage.cache_creation_input_tokens == 0
    assert message.usage.input_tokens == EXPECTED_INPUT_TOKENS - 5

    with client.messages.stream(
        model="fake-cached", max_tokens=1024, system=SYSTEM, messages=MESSAGES
    ) as stream:
        final = stream.get_final_message()
    assert final.usage.model_dump() == message.usage.model_dump()


# -- count_tokens and models ----------------------------------------------------------------------


def test_count_tokens_matches_usage(client: anthropic.Anthropic) -> None:
    counted = client.messages.count_tokens(model=MODEL, system=SYSTEM, messages=MESSAGES)
    assert counted.input_tokens == EXPECTED_INPUT_TOKENS
    assert counted.input_tokens == create(client).usage.input_tokens


def test_models_list_and_retrieve(client: anthropic.Anthropic) -> None:
    models = list(client.models.list())
    ids = [m.id for m in models]
    assert set(ids) == {"claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"}
    assert all(m.type == "model" and m.display_name.startswith("Claude ") for m in models)
    assert all(m.created_at.year == 2025 for m in models)

    page = client.models.list(limit=2)
    assert page.has_more is True
    assert [m.id for m in page.data] == ids[:2]
    assert page.first_id == ids[0]
    assert page.last_id == ids[1]
    assert [m.id for m in page.get_next_page().data] == ids[2:]

    assert client.models.retrieve("claude-opus-4-1").display_name == "Claude Opus 4.1"
    with pytest.raises(anthropic.NotFoundError) as info:
        client.models.retrieve("claude-nope")
    assert info.value.type == "not_found_error"


# -- async usage ----------------------------------------------------------------------------------


async def test_async_context_manager_and_client() -> None:
    async with FakeAnthropic() as server:
        async with anthropic.AsyncAnthropic(
            base_url=server.base_url, api_key=API_KEY, max_retries=0
        ) as aclient:
            message = await aclient.messages.create(
                model=MODEL, max_tokens=10, messages=user_turn("async hello")
            )
        assert message.content[0].type == "text"
        assert message.content[0].text == "Echo: async hello"
        assert len(server.requests) == 1
    assert not server.running


def test_error_400_and_404(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as invalid:
        client.messages.create(model="fake-error-400", max_tokens=10, messages=user_turn())
    assert invalid.value.type == "invalid_request_error"
    with pytest.raises(anthropic.NotFoundError) as missing:
        client.messages.create(model="fake-error-404", max_tokens=10, messages=user_turn())
    assert missing.value.type == "not_found_error"
    assert "model: fake-error-404" in missing.value.message
