"""A content refusal read from the bytes a client would get, in each provider's shape: whole
answers and the first events of streams; an answer that refuses nothing is no refusal."""

from __future__ import annotations

import pytest

from domains.providers.content_refusal import refused

REFUSALS = {
    "openai chat": b'{"choices":[{"index":0,"message":{"role":"assistant","content":null,'
    b'"refusal":null},"finish_reason":"content_filter"}]}',
    "openai chat stream": b'data: {"choices":[{"index":0,"delta":{"role":"assistant",'
    b'"content":""},"finish_reason":null}]}\n\ndata: {"choices":[{"index":0,"delta":{},'
    b'"finish_reason":"content_filter"}]}\n\ndata: [DONE]\n\n',
    "anthropic message": b'{"type":"message","content":[],"stop_reason":"refusal"}',
    "anthropic stream": b'event: message_start\ndata: {"type":"message_start","message":'
    b'{"content":[],"stop_reason":null}}\n\nevent: message_delta\ndata: {"type":'
    b'"message_delta","delta":{"stop_reason":"refusal","stop_sequence":null}}\n\n',
    "gemini safety": b'{"candidates":[{"finishReason":"SAFETY","index":0}]}',
    "gemini prohibited stream": b'data: {"candidates":[{"finishReason":'
    b'"PROHIBITED_CONTENT"}]}\r\n\r\n',
    "gemini blocklist array": b'[{"candidates":[{"finishReason":"BLOCKLIST"}]}]',
    "gemini blocked prompt": b'{"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{}}',
    "responses": b'{"object":"response","status":"incomplete",'
    b'"incomplete_details":{"reason":"content_filter"}}',
    "responses stream": b'event: response.incomplete\ndata: {"type":"response.incomplete",'
    b'"response":{"incomplete_details":{"reason":"content_filter"}}}\n\n',
}

ANSWERS = {
    "openai chat": b'{"choices":[{"index":0,"message":{"role":"assistant","content":"Hi",'
    b'"refusal":null},"finish_reason":"stop"}]}',
    "a text about content_filter": b'{"choices":[{"message":{"content":"content_filter and '
    b'SAFETY and \\"refusal\\""},"finish_reason":"stop"}]}',
    "anthropic": b'{"type":"message","content":[{"type":"text","text":"Hi"}],'
    b'"stop_reason":"end_turn"}',
    "gemini": b'{"candidates":[{"content":{"parts":[{"text":"Hi"}]},"finishReason":"STOP"}]}',
    "gemini max tokens": b'{"candidates":[{"finishReason":"MAX_TOKENS"}]}',
    "not json": b"content_filter SAFETY",
    "empty": b"",
}


@pytest.mark.parametrize("payload", REFUSALS.values(), ids=list(REFUSALS))
def test_a_refusal_is_read_in_every_shape(payload: bytes) -> None:
    assert refused(payload)


@pytest.mark.parametrize("payload", ANSWERS.values(), ids=list(ANSWERS))
def test_an_answer_is_no_refusal(payload: bytes) -> None:
    assert not refused(payload)
