"""Whatever a client sends the Responses WebSocket, reading it either gives an event to act on
or a `BadMessage` carrying the OpenAI error to answer with: never another exception."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from interfaces.ws.decoding import BadMessage
from interfaces.ws.responses.client_events import Create, Processed, Steer, read_event

MAX = 4096

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)
events = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["response.create", "response.steer", "response.processed"])
        | st.text(max_size=20)
        | json_values,
        "stream_id": st.text(max_size=140) | json_values,
        "background": json_values,
        "stream": json_values,
        "model": json_values,
        "input": json_values,
    },
)


def _read(data: bytes) -> object:
    try:
        found: object = read_event(data, MAX)
    except BadMessage as bad:
        found = bad
    if isinstance(found, BadMessage):
        assert 400 <= found.error.status < 500
        assert found.error.message
    return found


@given(st.binary(max_size=200))
def test_any_bytes_are_an_event_or_a_client_error(data: bytes) -> None:
    _read(data)


@given(events)
def test_any_object_is_an_event_or_a_client_error(event: dict[str, object]) -> None:
    found = _read(json.dumps(event).encode())
    if isinstance(found, Create):
        assert found.body["stream"] is True
        assert not {"type", "stream_id", "stream_options", "background"} & set(found.body)
        assert found.stream_id is None or 0 < len(found.stream_id) <= 128
        assert event.get("background") is not True
    elif not isinstance(found, BadMessage):
        assert isinstance(found, (Steer, Processed))
