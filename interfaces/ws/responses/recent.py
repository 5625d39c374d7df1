"""The responses a connection keeps in memory so that `previous_response_id` continues them,
as OpenAI's WebSocket mode keeps the last response on the connection: a response created with
`store: false` is nowhere else.

Each kept response knows the conversation it ends as (`anchor`, the stored response it
continues from the store, if any, and the items since: earlier inputs and outputs, in Responses
item shape). Continuing it sends those items before the new input, as the route sends a stored
conversation to an upstream that never saw it (`with_history`: without their ids, reasoning
only with its encrypted content, item references resolved), and names the anchor as
`previous_response_id`, so the route rebuilds the rest from the store as for any stored
response. A stored response is kept as its own anchor, continued through the store.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from interfaces.http.responses.translate_request import with_history


@dataclass(frozen=True, slots=True)
class Kept:
    response_id: str
    anchor: str | None
    items: tuple[Any, ...]


def input_items(value: object) -> list[Any]:
    """A request's `input` as items: a string is one user message."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if isinstance(value, list):
        return list(value)
    return []


class RecentResponses:
    """The last `capacity` responses that ended on the connection (completed or incomplete)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._kept: OrderedDict[str, Kept] = OrderedDict()

    def continued(self, body: dict[str, Any]) -> dict[str, Any]:
        """The body to create: one that continues a kept unstored response carries that
        conversation's items before its own input instead."""
        previous = body.get("previous_response_id")
        kept = self._kept.get(previous) if isinstance(previous, str) else None
        if kept is None or kept.anchor == kept.response_id:
            return body
        self._kept.move_to_end(kept.response_id)
        sent = with_history(body, kept.items)
        if kept.anchor is not None:
            sent["previous_response_id"] = kept.anchor
        return sent

    def keep(self, sent: dict[str, Any], response: dict[str, Any]) -> None:
        """Keeps a response that ended, created from the body `sent` (as `continued` made it)."""
        response_id = response.get("id")
        if not isinstance(response_id, str):
            return
        if sent.get("store") is False:
            anchor = sent.get("previous_response_id")
            output = response.get("output")
            items = (*input_items(sent.get("input")), *(output if isinstance(output, list) else ()))
            kept = Kept(response_id, anchor if isinstance(anchor, str) else None, items)
        else:
            kept = Kept(response_id, response_id, ())
        self._kept[response_id] = kept
        self._kept.move_to_end(response_id)
        while len(self._kept) > self._capacity:
            self._kept.popitem(last=False)
