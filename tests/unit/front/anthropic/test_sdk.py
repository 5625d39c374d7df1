"""The official Anthropic SDK reads what the front door writes: streams, stream errors, messages
and errors."""

from __future__ import annotations

import anthropic
import httpx2
import pytest

from interfaces.http.anthropic.translate_response import (
    chat_to_message,
    error_body,
)
from interfaces.http.anthropic.translate_stream import ChatChunksToEvents, encode_event
from tests.unit.front.anthropic.support import (
    REALISTIC,
    chunk,
    completion,
    translate_stream,
)

# --- the official SDK reads what the front writes ----------------------------------------------


def sdk_client(answer: httpx2.Response, seen: list[httpx2.Request]) -> anthropic.Anthropic:
    def handle(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return answer

    return anthropic.Anthropic(
        api_key="sk-test",
        base_url="http://gateway.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handle)),
    )


def test_the_sdk_streams_the_translated_events() -> None:
    sse = b"".join(encode_event(name, data) for name, data in translate_stream(REALISTIC))
    seen: list[httpx2.Request] = []
    answer = httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"})
    client = sdk_client(answer, seen)
    with client.messages.stream(
        model="gpt-x", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
    ) as stream:
        streamed_text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert seen[0].url.path == "/v1/messages"
    assert streamed_text == "Let me check the weather."
    assert final.id == "msg_req1"
    assert final.model == "gpt-x"
    assert final.stop_reason == "tool_use"
    assert [block.type for block in final.content] == ["text", "tool_use"]
    said = final.content[0]
    assert said.type == "text"
    assert said.text == "Let me check the weather."
    tool = final.content[1]
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_abc", "weather", {"city": "Paris", "days": 3})
    assert final.usage.input_tokens == 42
    assert final.usage.output_tokens == 12
    assert final.usage.cache_read_input_tokens == 8


def test_the_sdk_raises_on_a_translated_stream_error() -> None:
    translator = ChatChunksToEvents(model="gpt-x", message_id="msg_1")
    events = translator.feed(chunk({"content": "par"}))
    events += translator.feed({"error": {"message": "upstream timed out", "type": "timeout"}})
    sse = b"".join(encode_event(name, data) for name, data in events)
    answer = httpx2.Response(200, content=sse, headers={"content-type": "text/event-stream"})
    client = sdk_client(answer, [])
    with (
        pytest.raises(anthropic.APIStatusError, match="upstream timed out"),
        client.messages.stream(
            model="gpt-x", max_tokens=10, messages=[{"role": "user", "content": "x"}]
        ) as stream,
    ):
        stream.get_final_message()


def test_the_sdk_reads_a_translated_message() -> None:
    reply = {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }
    message = chat_to_message(completion(reply, "tool_calls"), model="gpt-x")
    answer = httpx2.Response(200, json=message)
    client = sdk_client(answer, [])
    created = client.messages.create(
        model="gpt-x", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
    )
    assert created.id == "msg_chatcmpl-abc"
    assert created.stop_reason == "tool_use"
    said = created.content[0]
    assert said.type == "text"
    assert said.text == "Checking."
    tool = created.content[1]
    assert tool.type == "tool_use"
    assert (tool.id, tool.name, tool.input) == ("call_1", "weather", {"city": "Paris"})
    assert (created.usage.input_tokens, created.usage.cache_read_input_tokens) == (70, 30)


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (404, anthropic.NotFoundError),
        (429, anthropic.RateLimitError),
        (503, anthropic.InternalServerError),
    ],
)
def test_the_sdk_reads_translated_errors(status: int, exception: type[Exception]) -> None:
    sent, error = error_body(status, "it failed")
    client = sdk_client(httpx2.Response(sent, json=error), [])
    with pytest.raises(exception) as caught:
        client.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}])
    assert isinstance(caught.value, anthropic.APIStatusError)
    assert caught.value.status_code == sent
    assert caught.value.body == error
