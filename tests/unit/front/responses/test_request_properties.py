"""Properties of the request translation: any body translates or is refused as invalid, a
conversation keeps its meaning, and what it gives is a chat request the Anthropic and Gemini
adapters take."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.providers.errors import InvalidRequest
from infrastructure.adapters.providers.anthropic_request import chat_request as anthropic_request
from infrastructure.adapters.providers.gemini_request import chat_request as gemini_request
from interfaces.http.responses.translate_request import (
    input_items,
    responses_to_chat,
    with_history,
)
from tests.unit.front.responses.strategies import (
    TOOLS,
    chat_meaning,
    conversations,
    item_meaning,
    json_values,
    near_bodies,
    near_items,
)


@settings(max_examples=250, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, near_bodies), st.lists(near_items, max_size=3), st.booleans())
def test_any_body_translates_or_raises_invalid_request_only(
    request_body: Any, history: list[Any], native: bool
) -> None:
    with contextlib.suppress(InvalidRequest):  # any other exception fails
        out = responses_to_chat(request_body, history, native=native)
        assert out["model"] == request_body["model"]
        assert any(message["role"] != "system" for message in out["messages"])
        json.dumps(out)
    with contextlib.suppress(InvalidRequest):
        items = input_items(request_body)
        assert all(isinstance(item["id"], str) for item in items)
    with contextlib.suppress(InvalidRequest):
        sent = with_history(request_body, history)
        assert "previous_response_id" not in sent
        json.dumps(sent)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(conversations(), st.integers(0, 3))
def test_a_conversation_keeps_its_meaning(items: list[dict[str, Any]], stored: int) -> None:
    history, new = items[:stored], items[stored:] or [{"role": "user", "content": "go on"}]
    chat = responses_to_chat({"model": "m", "input": new, "tools": TOOLS}, history)
    assert chat_meaning(chat["messages"]) == item_meaning(history + new)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(conversations())
def test_a_translated_conversation_is_taken_by_the_other_vendors_adapters(
    items: list[dict[str, Any]],
) -> None:
    chat = responses_to_chat({"model": "m", "input": items, "tools": TOOLS})
    anthropic = anthropic_request(chat, "claude-x", max_tokens_default=1, stream=False)
    assert anthropic["messages"][0]["role"] == "user"
    gemini = gemini_request(chat, fetched_images={})
    assert gemini["contents"][0]["role"] == "user"
