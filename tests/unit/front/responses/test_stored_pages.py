"""The input items of a stored response a page at a time, as OpenAI pages them, and the final
response a stream is stored from, read from its last event however the bytes are split."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.conversations.commands import StoreResponse
from application.conversations.response_store import ResponseStore
from domains.shared.caller import Caller
from interfaces.http.errors import ApiError
from interfaces.http.responses.keeping import Keeping
from interfaces.http.responses.native_stream import NativeResponseStream
from interfaces.http.responses.paging import items_page

ITEMS = [{"id": f"msg_{n}", "type": "message"} for n in range(5)]


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


def test_newest_first_by_default_and_continued_after_the_last_id() -> None:
    first = items_page(ITEMS, limit=2, order="desc", after=None)
    assert ids(first) == ["msg_4", "msg_3"]
    assert (first["object"], first["first_id"], first["last_id"]) == ("list", "msg_4", "msg_3")
    assert first["has_more"] is True
    second = items_page(ITEMS, limit=2, order="desc", after=first["last_id"])
    third = items_page(ITEMS, limit=2, order="desc", after=second["last_id"])
    assert ids(second) == ["msg_2", "msg_1"]
    assert (ids(third), third["has_more"]) == (["msg_0"], False)


@given(limit=st.integers(1, 7), order=st.sampled_from(["asc", "desc"]))
def test_paging_through_lists_every_item_once_in_order(limit: int, order: Any) -> None:
    seen: list[str] = []
    after = None
    while True:
        page = items_page(ITEMS, limit=limit, order=order, after=after)
        seen += ids(page)
        if not page["has_more"]:
            break
        after = page["last_id"]
    expected = [item["id"] for item in ITEMS]
    assert seen == (expected if order == "asc" else expected[::-1])


def test_an_empty_list_and_an_unknown_after() -> None:
    empty = items_page([], limit=20, order="asc", after=None)
    assert empty == {
        "object": "list",
        "data": [],
        "first_id": None,
        "last_id": None,
        "has_more": False,
    }
    with pytest.raises(ApiError) as refused:
        items_page(ITEMS, limit=2, order="asc", after="msg_nope")
    assert (refused.value.status, refused.value.param) == (400, "after")


def frame(kind: str, data: dict[str, Any]) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()


RESPONSE = {"id": "resp_1", "object": "response", "status": "completed", "output": []}
STREAM = (
    frame("response.created", {"type": "response.created", "response": {"id": "resp_1"}})
    + frame("response.output_text.delta", {"type": "response.output_text.delta", "delta": "hi"})
    + frame("response.completed", {"type": "response.completed", "response": RESPONSE})
)


@given(cuts=st.lists(st.integers(0, len(STREAM)), max_size=6))
async def test_a_native_stream_is_handed_to_the_store_once_before_its_final_bytes_go(
    cuts: list[int],
) -> None:
    bounds = sorted({0, len(STREAM), *cuts})
    pieces = [STREAM[a:b] for a, b in itertools.pairwise(bounds)]
    passed: list[bytes] = []
    stored: list[tuple[dict[str, Any], int]] = []

    async def upstream() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    class Bus:
        async def handle(self, command: StoreResponse) -> None:
            stored.append((msgspec.json.decode(command.response), len(b"".join(passed))))

    caller = Caller(key_id="k1", key_prefix="fr-k1", team_id="t1", org_id="o1")
    store = ResponseStore(Bus().handle)  # type: ignore[arg-type]
    handed: list[int] = []
    put = store.put

    def watched(command: StoreResponse) -> Any:
        handed.append(len(b"".join(passed)))
        return put(command)

    store.put = watched  # type: ignore[method-assign]
    keeping = Keeping(
        store=store,
        caller=caller,
        input_items=[],
        previous_response_id="resp_0",
        retention_days=1,
    )
    watch = NativeResponseStream(
        {}, response_id="resp_x", created_at=1, model="m", on_done=keeping.keep
    )
    async for chunk in watch.relay(upstream()):
        passed.append(chunk)
    assert b"".join(passed) == STREAM
    assert len(handed) == 1
    assert handed[0] < len(STREAM)  # the last bytes went only once it was handed over
    await store.written("resp_1")  # a read of it waits for its write
    assert len(stored) == 1
    response, _ = stored[0]
    assert response == {**RESPONSE, "previous_response_id": "resp_0"}


async def test_a_native_stream_the_client_leaves_is_stored_cancelled_with_its_output() -> None:
    stored: list[dict[str, Any]] = []

    class Bus:
        async def handle(self, command: StoreResponse) -> None:
            stored.append(msgspec.json.decode(command.response))

    added = {"type": "message", "id": "msg_1", "role": "assistant", "content": []}
    part = {"type": "output_text", "text": ""}
    head = (
        frame("response.created", {"type": "response.created", "response": {"id": "resp_1"}})
        + frame(
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": added},
        )
        + frame(
            "response.content_part.added",
            {"type": "response.content_part.added", "output_index": 0, "part": part},
        )
    )
    delta = {"type": "response.output_text.delta", "output_index": 0, "content_index": 0}

    async def upstream() -> AsyncIterator[bytes]:
        yield head
        for word in ("so", " far", " and more"):
            yield frame("response.output_text.delta", {**delta, "delta": word})

    caller = Caller(key_id="k1", key_prefix="fr-k1", team_id="t1", org_id="o1")
    store = ResponseStore(Bus().handle)  # type: ignore[arg-type]
    keeping = Keeping(
        store=store, caller=caller, input_items=[], previous_response_id=None, retention_days=1
    )
    watch = NativeResponseStream(
        {}, response_id="resp_x", created_at=1, model="m", on_done=keeping.keep
    )
    relayed = watch.relay(upstream())
    for _ in range(3):  # the client reads "so far", then leaves
        await anext(relayed)
    await relayed.aclose()  # type: ignore[attr-defined]
    await store.drain()
    [response] = stored
    assert (response["id"], response["status"]) == ("resp_1", "cancelled")
    [item] = response["output"]
    assert item["status"] == "incomplete"
    assert item["content"] == [{"type": "output_text", "text": "so far"}]
