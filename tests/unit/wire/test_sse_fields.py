"""Reading an SSE event's fields: the shapes providers send are read without a loop over its
lines, and read exactly as any other event is."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from infrastructure.adapters.providers import sse


def test_the_usual_shapes() -> None:
    assert sse.event_fields(b'data: {"a":1}') == (None, b'{"a":1}')
    assert sse.event_fields(b'event: response.created\ndata: {"b":2}') == (
        "response.created",
        b'{"b":2}',
    )
    assert sse.event_fields(b"event: ping") == ("ping", None)
    assert sse.event_fields(b"data: one\ndata: two") == (None, b"one\ntwo")
    assert sse.event_fields(b": a comment") == (None, None)


_LINES = st.lists(
    st.one_of(
        st.sampled_from([b"data: ", b"data:", b"event: ", b"event:", b": ", b"id: ", b""]).flatmap(
            lambda field: st.binary(max_size=12).map(lambda value: field + value)
        ),
    ),
    max_size=5,
)


@given(_LINES)
def test_any_event_reads_as_its_lines_say(lines: list[bytes]) -> None:
    event = b"\n".join(lines)
    assert sse.event_fields(event) == sse._fields(event)


def test_a_chat_streams_data_values_across_pieces() -> None:
    splitter = sse.SseSplitter()
    first = b'data: {"a":1}\n\ndata: not json\n\n: comment\n\ndata: [1,'
    assert sse.data_values(splitter, first) == [{"a": 1}]
    assert sse.data_values(splitter, b'2]\n\nevent: x\ndata: "s"\n\ndata: [DONE]\n\n') == [
        [1, 2],
        "s",
    ]
    assert sse.data_values(splitter, b"data: " + b"[" * 100_000 + b"\n\n") == []
