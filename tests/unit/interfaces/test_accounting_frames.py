"""The accounting pipe's frames: what is sent is read back whole; anything else is refused as a
bad frame, never another error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.conversations.commands import StoreResponses
from interfaces.accounting import frames
from tests.support.stored_responses import store_response
from tests.unit.samples import completion


def read(data: bytes) -> tuple[bytes, list[object]]:
    kind, length = frames.header(data[: frames.HEADER.size])
    payload = data[frames.HEADER.size :]
    assert len(payload) == length
    return kind, frames.calls(payload) if kind != frames.LIMITS_CHANGED else []


@pytest.mark.parametrize("kind", [frames.COMPLETIONS, frames.REPLAYED])
def test_a_batch_is_read_back_as_it_was_sent(kind: bytes) -> None:
    batch = (completion(request_id="r-1"), completion(request_id="r-2", user_id=None, stream=False))
    assert read(frames.frame(kind, batch)) == (kind, list(batch))


def test_limits_changed_has_no_payload() -> None:
    data = frames.frame(frames.LIMITS_CHANGED)
    assert data == b"L\x00\x00\x00\x00"
    assert read(data) == (frames.LIMITS_CHANGED, [])


@given(st.binary(min_size=frames.HEADER.size, max_size=frames.HEADER.size))
def test_any_header_is_a_known_frame_or_refused(data: bytes) -> None:
    try:
        kind, length = frames.header(data)
    except frames.BadFrame:
        assert data[:1] not in frames.KINDS or int.from_bytes(data[1:]) >= frames.MAX_PAYLOAD
    else:
        assert kind in frames.KINDS
        assert 0 <= length < frames.MAX_PAYLOAD


@given(st.binary(max_size=300))
def test_any_payload_is_calls_or_refused(data: bytes) -> None:
    try:
        decoded = frames.calls(data)
    except frames.BadFrame:
        return
    assert isinstance(decoded, list)


def test_a_call_missing_a_field_is_refused() -> None:
    with pytest.raises(frames.BadFrame, match="request_id"):
        frames.calls(b'[{"type": "CompletionFinished", "endpoint": "chat"}]')


def test_stored_responses_are_read_back_as_they_were_sent() -> None:
    batch = StoreResponses(
        responses=[
            store_response(
                response={"id": f"resp_{n}", "object": "response", "output": [{"n": n}]},
                input_items=[{"id": "msg_0", "type": "message", "role": "user", "content": []}],
                org_id="o1",
                team_id="t1",
                key_id="k1",
                user_id=None if n else "u1",
                previous_response_id=None,
                retention_seconds=86400.0,
            )
            for n in range(2)
        ]
    )
    data = frames.responses_frame(batch)
    kind, length = frames.header(data[: frames.HEADER.size])
    assert (kind, length) == (frames.RESPONSES, len(data) - frames.HEADER.size)
    assert frames.responses(data[frames.HEADER.size :]) == batch


@given(st.binary(max_size=300))
def test_any_payload_is_stored_responses_or_refused(data: bytes) -> None:
    try:
        decoded = frames.responses(data)
    except frames.BadFrame:
        return
    assert isinstance(decoded, StoreResponses)
