"""Stored responses (`/v1/responses`) in the real database, PostgreSQL and SQLite: kept with
their JSON whole, read only by their org and within their retention, a conversation rebuilt
through `previous_response_id`, deleted, and swept once expired."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from application.conversations.commands import DeleteResponse, StoreResponse, StoreResponses
from application.conversations.retention import ResponseSweep
from application.teams.commands import CreateOrg, CreateTeam
from domains.conversations.errors import ResponseNotFound
from domains.shared.clock import utcnow
from domains.shared.errors import Conflict
from infrastructure.db.tables import stored_responses
from infrastructure.queries.responses import conversation_before, stored_response
from interfaces.bootstrap import Container
from tests.integration.conftest import container_for, migrated_database
from tests.support.stored_responses import store_response

pytestmark = pytest.mark.postgres

DAY = 86400.0
TEXT = "naïve ☃ \u0000 text"  # what JSON columns must give back as it was


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with migrated_database(request.param, tmp_path, "fluxrouter_responses") as url:
        yield url


@pytest.fixture
async def container(database_url: str) -> AsyncIterator[Container]:
    made = container_for(database_url, FLUXROUTER_WORKERS_EMBEDDED="false")
    yield made
    await made.engine.dispose()
    made.sync_engine.dispose()


async def org_and_team(container: Container, name: str) -> tuple[str, str]:
    org = await container.bus.handle(CreateOrg(name=name, actor="test"))
    team = await container.bus.handle(CreateTeam(org_id=org.id, name="t", actor="test"))
    return org.id, team.id


def store(
    response_id: str,
    org_team: tuple[str, str],
    *,
    previous: str | None = None,
    seconds: float = DAY,
    said: str = TEXT,
) -> StoreResponse:
    response: dict[str, Any] = {
        "id": response_id,
        "object": "response",
        "model": "gpt-4o-mini",
        "status": "completed",
        "previous_response_id": previous,
        "output": [
            {
                "type": "message",
                "id": f"msg_out_{response_id}",
                "role": "assistant",
                "content": [{"type": "output_text", "text": f"Echo: {said}", "annotations": []}],
            }
        ],
    }
    items = [
        {
            "id": f"msg_in_{response_id}",
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": said}],
        }
    ]
    return store_response(
        response=response,
        input_items=items,
        org_id=org_team[0],
        team_id=org_team[1],
        key_id="k1",
        user_id=None,
        previous_response_id=previous,
        retention_seconds=seconds,
    )


async def test_a_stored_response_reads_back_whole_for_its_org_only(container: Container) -> None:
    mine = await org_and_team(container, "responses-mine")
    other = await org_and_team(container, "responses-other")
    command = store("resp_a", mine)
    await container.bus.handle(command)
    now = utcnow()
    found = await stored_response(container.engine, "resp_a", mine[0], now)
    assert found is not None
    sent = (msgspec.json.decode(command.response), msgspec.json.decode(command.input_items))
    assert (found.response, found.input_items) == sent
    assert await stored_response(container.engine, "resp_a", other[0], now) is None
    assert (
        await stored_response(container.engine, "resp_a", mine[0], now + timedelta(days=2)) is None
    )
    with pytest.raises(Conflict):
        await container.bus.handle(store("resp_a", mine))
    with pytest.raises(Conflict):  # a batch is stored whole or not at all
        await container.bus.handle(
            StoreResponses(responses=[store("resp_b", mine), store("resp_a", mine)])
        )
    assert await stored_response(container.engine, "resp_b", mine[0], now) is None
    await container.bus.handle(
        StoreResponses(responses=[store("resp_b", mine), store("resp_c", mine)])
    )
    assert await stored_response(container.engine, "resp_c", mine[0], now) is not None


async def test_a_conversation_is_rebuilt_oldest_first_as_far_as_it_is_stored(
    container: Container,
) -> None:
    mine = await org_and_team(container, "responses-chain")
    other = await org_and_team(container, "responses-chain-other")
    await container.bus.handle(store("resp_1", mine, said="one"))
    await container.bus.handle(store("resp_2", mine, previous="resp_1", said="two"))
    await container.bus.handle(store("resp_3", mine, previous="resp_2", said="three"))
    now = utcnow()
    chain = await conversation_before(container.engine, "resp_3", mine[0], now)
    assert [view.id for view in chain or []] == ["resp_1", "resp_2", "resp_3"]
    assert await conversation_before(container.engine, "resp_3", other[0], now) is None

    await container.bus.handle(DeleteResponse(response_id="resp_1", org_id=mine[0], actor="k"))
    chain = await conversation_before(container.engine, "resp_3", mine[0], now)
    assert [view.id for view in chain or []] == ["resp_2", "resp_3"]
    with pytest.raises(ResponseNotFound):
        await container.bus.handle(DeleteResponse(response_id="resp_2", org_id=other[0], actor="k"))


async def test_the_sweep_deletes_what_expired_and_keeps_the_rest(container: Container) -> None:
    mine = await org_and_team(container, "responses-sweep")
    for n in range(5):
        await container.bus.handle(store(f"resp_old{n}", mine, seconds=0.001))
    await container.bus.handle(store("resp_kept", mine))
    sweep = ResponseSweep(container.bus, every_seconds=3600, batch=2)
    assert await sweep.sweep() == 5
    async with container.engine.connect() as conn:
        left = (await conn.execute(sa.select(stored_responses.c.id))).scalars().all()
    assert left == ["resp_kept"]
    assert await sweep.sweep() == 0
