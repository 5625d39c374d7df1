"""Properties of the front door's translation: a conversation survives the round trip, any body
translates or is refused as invalid, any chunk sequence gives a valid event sequence, and
streamed text and arguments reassemble."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.anthropic_request import chat_request
from interfaces.http.anthropic.translate_request import messages_to_chat
from interfaces.http.anthropic.translate_stream import ChatChunksToEvents
from tests.unit.front.anthropic.strategies import (
    assert_valid_sequence,
    chunks,
    conversations,
    json_values,
    meaning,
    mutated_bodies,
    near_bodies,
    words,
)
from tests.unit.front.anthropic.support import USAGE_CHUNK, chunk, piece, translate_stream


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(conversations())
def test_a_conversation_survives_the_round_trip_through_openai(
    conversation: dict[str, Any],
) -> None:
    chat = messages_to_chat(conversation)
    back = chat_request(chat, "claude-x", max_tokens_default=1, stream=False)
    system = conversation.get("system")
    texts = [system] if isinstance(system, str) else [b["text"] for b in system or []]
    assert back.get("system", "") == "\n\n".join(t for t in texts if t)
    assert back["max_tokens"] == conversation["max_tokens"]
    assert [meaning(turn) for turn in back["messages"]] == [
        meaning(turn) for turn in conversation["messages"]
    ]


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, near_bodies, mutated_bodies()))
def test_any_body_translates_or_raises_invalid_request_only(request_body: Any) -> None:
    with contextlib.suppress(InvalidRequest):  # any other exception fails
        out = messages_to_chat(request_body)
        assert out["model"] == request_body["model"]
        assert out["messages"]
        json.dumps(out)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(chunks, max_size=12))
def test_any_chunk_sequence_gives_a_valid_event_sequence(chunk_list: list[Any]) -> None:
    translator = ChatChunksToEvents(model="m", message_id="msg_1")
    events = [event for c in chunk_list for event in translator.feed(c)]
    events += translator.finish()
    assert translator.done
    assert_valid_sequence(events)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(words, min_size=1, max_size=6), st.lists(words, max_size=6))
def test_streamed_text_and_arguments_reassemble(
    texts: list[str], argument_pieces: list[str]
) -> None:
    chunks_in = [chunk({"content": t}) for t in texts]
    if argument_pieces:
        chunks_in.append(piece(argument_pieces[0], id="call_1", name="f"))
        chunks_in += [piece(p) for p in argument_pieces[1:]]
    events = translate_stream([*chunks_in, chunk({}, "stop"), USAGE_CHUNK])
    assert_valid_sequence(events)
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    assert "".join(d.get("text", "") for d in deltas) == "".join(texts)
    assert "".join(d.get("partial_json", "") for d in deltas) == "".join(argument_pieces)
