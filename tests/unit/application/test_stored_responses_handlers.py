"""Stored responses (`/v1/responses`) through the whole bus, over the in-memory unit of work:
kept for their org until their retention ends, deleted by their org only, swept once expired."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from application.conversations.commands import (
    DeleteResponse,
    ForgetExpiredResponses,
    StoreResponse,
    StoreResponses,
)
from application.conversations.response_store import ResponseStore
from domains.conversations.errors import ResponseNotFound
from domains.conversations.events import ResponseDeleted
from domains.shared.clock import utcnow
from domains.shared.errors import Conflict
from tests.support.stored_responses import store_response
from tests.unit.application.bus_harness import Bus

TESTED = {StoreResponse, StoreResponses, DeleteResponse, ForgetExpiredResponses}

DAY = 86400.0


@pytest.fixture
def h() -> Bus:
    return Bus()


def store(
    response_id: str = "resp_1", *, org_id: str = "o1", seconds: float = DAY
) -> StoreResponse:
    response: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "model": "gpt-4o-mini",
        "status": "completed",
        "output": [{"type": "message", "id": "msg_1", "role": "assistant", "content": []}],
    }
    return store_response(
        response=response,
        input_items=[{"id": "msg_0", "type": "message", "role": "user", "content": []}],
        org_id=org_id,
        team_id="t1",
        key_id="k1",
        user_id=None,
        previous_response_id=None,
        retention_seconds=seconds,
    )


async def test_a_response_is_kept_for_its_retention_without_an_event(h: Bus) -> None:
    before = utcnow()
    record = await h.handle(store())
    assert list(h.store.responses) == [record.id] == ["resp_1"]
    stored = h.store.responses["resp_1"]
    assert (stored.org_id, stored.model, stored.status) == ("o1", "gpt-4o-mini", "completed")
    assert stored.output[0]["id"] == "msg_1"
    assert before + timedelta(days=1) <= stored.expires_at <= utcnow() + timedelta(days=1)
    assert stored.visible_to("o1", utcnow())
    assert not stored.visible_to("o2", utcnow())
    assert not stored.visible_to("o1", stored.expires_at)
    assert h.events == []  # the call itself is audited once charged


async def test_the_same_id_twice_conflicts(h: Bus) -> None:
    await h.quietly(store())
    with pytest.raises(Conflict):
        await h.handle(store())
    assert len(h.store.responses) == 1


async def test_delete_removes_it_and_is_audited(h: Bus) -> None:
    await h.quietly(store())
    deleted = await h.handle(DeleteResponse(response_id="resp_1", org_id="o1", actor="key:k2"))
    assert deleted.id == "resp_1"
    assert h.store.responses == {}
    event = h.only(ResponseDeleted)
    assert (event.response_id, event.key_id, event.actor) == ("resp_1", "k1", "key:k2")


async def test_another_orgs_or_an_expired_response_is_not_found(h: Bus) -> None:
    await h.quietly(store())
    await h.quietly(store("resp_old", seconds=0))
    with pytest.raises(ResponseNotFound):
        await h.handle(DeleteResponse(response_id="resp_1", org_id="o2", actor="key:k9"))
    with pytest.raises(ResponseNotFound):
        await h.handle(DeleteResponse(response_id="resp_old", org_id="o1", actor="key:k1"))
    with pytest.raises(ResponseNotFound):
        await h.handle(DeleteResponse(response_id="nope", org_id="o1", actor="key:k1"))
    assert set(h.store.responses) == {"resp_1", "resp_old"}
    assert h.events == []


async def test_the_sweep_forgets_only_what_expired_a_batch_at_a_time(h: Bus) -> None:
    for n in range(3):
        await h.quietly(store(f"resp_old{n}", seconds=0))
    await h.quietly(store("resp_new"))
    assert await h.handle(ForgetExpiredResponses(most=2)) == 2
    assert await h.handle(ForgetExpiredResponses(most=2)) == 1
    assert await h.handle(ForgetExpiredResponses(most=2)) == 0
    assert set(h.store.responses) == {"resp_new"}
    assert h.events == []


async def test_a_batch_is_stored_whole_or_not_at_all(h: Bus) -> None:
    stored = await h.handle(StoreResponses(responses=[store("resp_a"), store("resp_b")]))
    assert [one.id for one in stored] == ["resp_a", "resp_b"]
    assert set(h.store.responses) == {"resp_a", "resp_b"}
    with pytest.raises(Conflict):
        await h.handle(StoreResponses(responses=[store("resp_c"), store("resp_a")]))
    assert set(h.store.responses) == {"resp_a", "resp_b"}  # resp_c neither


async def test_the_response_store_gathers_concurrent_responses_into_one_transaction(
    h: Bus,
) -> None:
    responses = ResponseStore(h.bus.handle)
    commits = h.store.commits
    await asyncio.gather(*(responses.keep(store(f"resp_{n}")) for n in range(20)))
    assert len(h.store.responses) == 20
    assert h.store.commits - commits <= 2  # the first alone, then the 19 that waited for it


async def test_a_failing_batch_fails_only_the_response_at_fault(h: Bus) -> None:
    await h.quietly(store("resp_taken"))
    responses = ResponseStore(h.bus.handle)
    results = await asyncio.gather(
        *(responses.keep(store(n)) for n in ("resp_1", "resp_taken", "resp_2", "resp_3")),
        return_exceptions=True,
    )
    assert [type(result).__name__ for result in results] == [
        "NoneType",
        "Conflict",
        "NoneType",
        "NoneType",
    ]
    assert set(h.store.responses) == {"resp_taken", "resp_1", "resp_2", "resp_3"}


async def test_a_response_handed_over_is_answered_at_once_and_read_after_its_write(
    h: Bus,
) -> None:
    responses = ResponseStore(h.bus.handle)
    written = responses.put(store("resp_soon"))
    assert not written.done()  # handed over: its caller does not wait for the write
    assert "resp_soon" not in h.store.responses
    await responses.written("resp_soon")  # a read of it waits for the write
    assert "resp_soon" in h.store.responses
    await responses.written("resp_never_handed")  # nothing to wait for
    for n in range(5):
        responses.put(store(f"resp_{n}"))
    await responses.drain()
    assert {f"resp_{n}" for n in range(5)} <= set(h.store.responses)
