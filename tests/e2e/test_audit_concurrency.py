"""Many writers, one chain: two gateway processes on one PostgreSQL database take 1,000 audited
changes at once, and the audit log comes out as one gap-free, fork-free hash chain."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from domains.audit.chain import GENESIS_HASH
from tests.support.gateway import GatewayProcess
from tests.support.services import postgres_database

pytestmark = pytest.mark.postgres

CHANGES = 1000
IN_FLIGHT = 32


@pytest.fixture(scope="module")
def two_gateways(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[GatewayProcess]]:
    """Two `fluxrouter serve` on a database of their own, with one configuration (the same
    admin key and audit signing key, as replicas of one deployment have)."""
    shared: Path = tmp_path_factory.mktemp("audit-concurrency")
    admin_key = "fradm-" + secrets.token_urlsafe(32)
    with postgres_database("fluxrouter_audit_conc") as url:
        config: dict[str, Any] = {
            "database": {"url": url},
            "logging": {"level": "warning"},
            "audit": {
                "signing_key_file": str(shared / "audit-signing.key"),
                "checkpoint_dir": str(shared / "checkpoints"),
            },
        }
        processes: list[GatewayProcess] = []
        try:
            for name in ("first", "second"):  # one after the other: the first one migrates
                workdir = shared / name
                workdir.mkdir()
                processes.append(GatewayProcess(workdir, config, admin_key=admin_key).start())
            yield processes
        finally:
            for process in processes:
                process.stop()


async def _create_teams(gateways: list[GatewayProcess], org_id: str) -> list[int]:
    slots = asyncio.Semaphore(IN_FLIGHT)
    clients = [
        httpx.AsyncClient(
            base_url=f"{gateway.base_url}/admin/v1",
            headers={"Authorization": f"Bearer {gateway.admin_key}"},
            timeout=30,
            limits=httpx.Limits(max_connections=IN_FLIGHT),
        )
        for gateway in gateways
    ]

    async def create(n: int) -> int:
        async with slots:
            client = clients[n % len(clients)]
            response = await client.post("/teams", json={"org_id": org_id, "name": f"team-{n}"})
            return response.status_code

    try:
        return await asyncio.gather(*(create(n) for n in range(CHANGES)))
    finally:
        for client in clients:
            await client.aclose()


def _all_rows(admin: httpx.Client, **filters: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        page = admin.get("/audit", params={**filters, "after_seq": after, "limit": 1000})
        assert page.status_code == 200, page.text
        body = page.json()
        rows += body["rows"]
        after = body["next_after_seq"]
    return rows


async def test_concurrent_changes_from_two_processes_make_one_contiguous_chain(
    two_gateways: list[GatewayProcess],
) -> None:
    first, second = two_gateways
    with first.admin() as admin:
        org = admin.post("/orgs", json={"name": "many writers"})
        assert org.status_code == 201, org.text
    started = time.monotonic()
    statuses = await _create_teams(two_gateways, org.json()["id"])
    took = time.monotonic() - started
    assert statuses == [201] * CHANGES

    with second.admin() as admin:
        team_rows = _all_rows(admin, action="team.create")
        deadline = time.monotonic() + 15  # a change is audited right after it is stored
        while len(team_rows) < CHANGES and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            team_rows = _all_rows(admin, action="team.create")
        assert len(team_rows) == CHANGES
        assert len({row["target"] for row in team_rows}) == CHANGES

        chain = _all_rows(admin)
        assert [row["seq"] for row in chain] == list(range(1, len(chain) + 1)), "a gap"
        previous = GENESIS_HASH
        for row in chain:
            assert row["prev_hash"] == previous, f"a fork at seq {row['seq']}"
            previous = row["hash"]
        assert len(chain) >= CHANGES + 1

    for gateway in two_gateways:
        with gateway.admin() as admin:
            verified = admin.get("/audit/verify", params={"full": "true"}, timeout=60).json()
        assert verified["ok"] is True, verified
        assert verified["head_seq"] >= chain[-1]["seq"]
    print(f"{CHANGES} audited changes through two processes in {took:.1f} s")
