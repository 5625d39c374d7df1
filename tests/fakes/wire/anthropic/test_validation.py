"""What the fake checks as the Messages API does: images, max tokens, stop sequences, roles,
citations, sampling parameters by API version."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import pytest

from tests.fakes.anthropic_upstream import FakeAnthropic
from tests.fakes.wire.anthropic.support import (
    EXPECTED_TEXT,
    MESSAGES,
    MODEL,
    PNG_B64,
    RAW_HEADERS,
    SYSTEM,
    create,
    user_turn,
)

# -- content blocks -------------------------------------------------------------------------------


def test_images_echo_as_placeholder(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "compare"},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": PNG_B64},
                    },
                    {
                        "type": "image",
                        "source": {"type": "url", "url": "https://example.com/cat.jpg"},
                    },
                    {"type": "text", "text": "please"},
                ],
            }
        ],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: compare [image] [image] please"
    assert message.usage.input_tokens == 4


def test_bad_image_media_type_is_rejected(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {
                                "type": "base64",
                                "media_type": "image/bmp",  # type: ignore[typeddict-item]
                                "data": PNG_B64,
                            },
                        }
                    ],
                }
            ],
        )
    assert "media_type" in str(info.value.api_message)


# -- max_tokens and stop sequences ----------------------------------------------------------------


def test_max_tokens_truncates(client: anthropic.Anthropic) -> None:
    message = create(client, max_tokens=3)
    assert message.stop_reason == "max_tokens"
    assert message.stop_sequence is None
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: What is"
    assert message.usage.output_tokens == 3

    with client.messages.stream(
        model=MODEL, max_tokens=3, system=SYSTEM, messages=MESSAGES
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: What is"
        assert stream.get_final_message().stop_reason == "max_tokens"

    roomy = create(client, max_tokens=100)
    assert roomy.stop_reason == "end_turn"


def test_stop_sequences_cut_the_reply(client: anthropic.Anthropic) -> None:
    message = create(client, stop_sequences=["France", "capital"])
    assert message.stop_reason == "stop_sequence"
    assert message.stop_sequence == "capital"
    assert message.content[0].type == "text"
    assert message.content[0].text == "Echo: What is the "
    assert message.usage.output_tokens == 4

    with client.messages.stream(
        model=MODEL, max_tokens=100, system=SYSTEM, messages=MESSAGES, stop_sequences=["capital"]
    ) as stream:
        assert "".join(stream.text_stream) == "Echo: What is the "
        final = stream.get_final_message()
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "capital")

    absent = create(client, stop_sequences=["Berlin"])
    assert (absent.stop_reason, absent.stop_sequence) == ("end_turn", None)


# -- validation errors ----------------------------------------------------------------------------


def test_missing_max_tokens_is_400(fake: FakeAnthropic) -> None:
    response = httpx.post(
        f"{fake.base_url}/v1/messages",
        headers=RAW_HEADERS,
        json={"model": MODEL, "messages": user_turn()},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }
    assert body["request_id"] == response.headers["request-id"]


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": "10"}, "max_tokens"),
        ({"model": None}, "model"),
        ({"messages": []}, "messages"),
        ({"temperature": 1.5}, "temperature"),
        ({"tool_choice": {"type": "sometimes"}}, "tool_choice"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "role"),
        ({"messages": [{"role": "user", "content": ""}]}, "non-empty"),
        ({"tools": [{"name": "t", "input_schema": {"type": "string"}}]}, "input_schema"),
        ({"tools": [{"name": "t"}]}, "input_schema"),
        ({"tools": [{"name": "bad name!", "input_schema": {"type": "object"}}]}, "name"),
        ({"stop_sequences": ["  "]}, "stop_sequences"),
    ],
)
def test_invalid_requests_are_400(
    fake: FakeAnthropic, payload: dict[str, Any], fragment: str
) -> None:
    body = {"model": MODEL, "max_tokens": 10, "messages": user_turn(), **payload}
    body = {k: v for k, v in body.items() if v is not None}
    response = httpx.post(f"{fake.base_url}/v1/messages", headers=RAW_HEADERS, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert fragment in error["message"]


def test_system_role_in_messages_is_400(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=MODEL,
            max_tokens=10,
            messages=[
                {"role": "system", "content": "be nice"},  # type: ignore[typeddict-item]
                {"role": "user", "content": "hi"},
            ],
        )
    assert info.value.status_code == 400
    assert info.value.type == "invalid_request_error"
    assert "top-level `system` parameter" in str(info.value.api_message)


def test_user_citations_rejected_on_new_api_version(client: anthropic.Anthropic) -> None:
    citation = {
        "type": "char_location",
        "cited_text": "x",
        "document_index": 0,
        "document_title": None,
        "start_char_index": 0,
        "end_char_index": 1,
    }
    content: Any = [{"type": "text", "text": "hi", "citations": [citation]}]
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "user", "content": content}]
        )
    assert "citations" in str(info.value.api_message)


def test_first_message_must_be_user(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(
            model=MODEL, max_tokens=10, messages=[{"role": "assistant", "content": "hello"}]
        )
    assert '"user"' in str(info.value.api_message)


def test_sampling_parameters_depend_on_api_version(
    fake: FakeAnthropic, client: anthropic.Anthropic
) -> None:
    # anthropic 2.x pins API version 2026-10-21, which rejects sampling parameters at any value
    with pytest.raises(anthropic.BadRequestError) as info:
        create(client, extra_body={"temperature": 1.0})
    assert info.value.api_message == "temperature: Extra inputs are not permitted"

    # on 2023-06-01 they are accepted within range
    legacy = client.with_options(default_headers={"anthropic-version": "2023-06-01"})
    ok = create(legacy, extra_body={"temperature": 0.2, "top_p": 0.9, "top_k": 5})
    assert ok.content[0].type == "text"
    assert ok.content[0].text == EXPECTED_TEXT
    with pytest.raises(anthropic.BadRequestError) as info:
        create(legacy, extra_body={"temperature": 1.2})
    assert info.value.api_message == "temperature: range: 0..1"
