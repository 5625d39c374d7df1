"""Dead letters through the admin API and the CLI, on both shapes: an event whose retries are
spent becomes a dead letter (audited), listed to the operator only, replayed once (audited), and
the audit chain still verifies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml

from domains.shared.clock import utcnow
from infrastructure.db.engine import create_sync_engine
from infrastructure.db.tables import outbox
from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.embedded import embedded_gateway
from tests.support.gateway import GatewayProcess
from tests.support.tenants import eventually

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def embedded(
    upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    workdir = tmp_path_factory.mktemp("gateway-dead-letters")
    with embedded_gateway(
        workdir, upstream.base_url, UPSTREAM_KEY, outbox={"sweep_every_seconds": 0.2}
    ) as process:
        yield process


@pytest.fixture(
    params=["embedded", pytest.param("gateway", marks=[pytest.mark.postgres, pytest.mark.redis])]
)
def shape(request: pytest.FixtureRequest) -> GatewayProcess:
    process: GatewayProcess = request.getfixturevalue(request.param)
    return process


def spend_retries(process: GatewayProcess, event_id: str) -> None:
    """The event's outbox row as the relay leaves one whose every retry failed."""
    config = yaml.safe_load(Path(process.env["FLUXROUTER_CONFIG"]).read_text())
    engine = create_sync_engine(config["database"]["url"])
    try:
        with engine.begin() as conn:
            changed = conn.execute(
                sa.update(outbox)
                .where(outbox.c.event_id == event_id)
                .values(
                    dispatched_at=None,
                    attempts=5,
                    next_attempt_at=utcnow(),
                    first_failed_at=utcnow(),
                    failed_subscriber="when_event_append_audit",
                    error_class="OperationalError",
                    error_message="database is locked",
                )
            )
            assert changed.rowcount == 1
    finally:
        engine.dispose()


def test_an_event_whose_retries_are_spent_is_listed_and_replayed_once(
    shape: GatewayProcess,
) -> None:
    with shape.admin() as admin:
        before = {row["id"] for row in admin.get("/dead-letters").json()["dead_letters"]}
        made = admin.post("/orgs", json={"name": "dead-letter-victim"}).json()
        event_id = event_id_of(shape, made["id"])
        spend_retries(shape, event_id)

        def buried() -> dict[str, Any] | None:
            page = admin.get("/dead-letters", params={"pending": "true", "limit": 500}).json()
            found = [x for x in page["dead_letters"] if x["id"] not in before]
            return found[0] if found else None

        letter = eventually(buried)
        assert letter["event_id"] == event_id
        assert letter["event_type"] == "OrgCreated"
        assert letter["subscriber"] == "when_event_append_audit"
        assert letter["error_class"] == "OperationalError"
        assert letter["attempts"] == 6
        assert letter["replayed_at"] is None

        listed = shape.fluxrouter("dead-letters", "list", "--pending", "--json")
        assert listed.returncode == 0, listed.stderr
        assert letter["id"] in [json.loads(line)["id"] for line in listed.stdout.splitlines()]

        replayed = admin.post(f"/dead-letters/{letter['id']}/replay")
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["delivered"] is True
        assert replayed.json()["dead_letter"]["replayed_by"] == "admin"
        again = admin.post(f"/dead-letters/{letter['id']}/replay")
        assert again.status_code == 409
        assert again.headers["content-type"].startswith(PROBLEM)
        by_cli = shape.fluxrouter("dead-letters", "replay", letter["id"])
        assert by_cli.returncode == 1
        assert "replayed already" in by_cli.stdout

        target = f"dead_letter:{letter['id']}"
        rows = admin.get("/audit", params={"target": target, "limit": 10}).json()["rows"]
        assert [row["action"] for row in rows] == ["outbox.dead_lettered", "outbox.replayed"]
        assert rows[1]["actor"] == "admin"
        # the replayed creation was not audited twice
        creations = admin.get("/audit", params={"target": f"org:{made['id']}"}).json()["rows"]
        assert [row["action"] for row in creations] == ["org.create"]
        assert admin.get("/audit/verify").json()["ok"] is True


def event_id_of(process: GatewayProcess, org_id: str) -> str:
    config = yaml.safe_load(Path(process.env["FLUXROUTER_CONFIG"]).read_text())
    engine = create_sync_engine(config["database"]["url"])
    try:
        with engine.connect() as conn:
            payloads = conn.execute(
                sa.select(outbox.c.event_id, outbox.c.payload).where(outbox.c.type == "OrgCreated")
            ).all()
    finally:
        engine.dispose()
    (event_id,) = [row.event_id for row in payloads if org_id.encode() in row.payload]
    return str(event_id)


def test_dead_letters_are_the_operators_and_bad_input_is_a_problem(
    shape: GatewayProcess,
) -> None:
    with shape.admin() as admin:
        org = admin.post("/orgs", json={"name": "dead-letter-scope"}).json()
        owner = admin.post(
            "/users", json={"org_id": org["id"], "email": "owner@dl.example", "role": "owner"}
        ).json()
        token = admin.post(f"/users/{owner['id']}/tokens", json={}).json()["token"]
        unknown = admin.post(f"/dead-letters/{'0' * 32}/replay")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith(PROBLEM)
        for bad in ({"limit": "0"}, {"limit": "501"}, {"after": "not hex"}, {"pending": "x"}):
            answer = admin.get("/dead-letters", params=bad)
            assert answer.status_code == 400, (bad, answer.text)
            assert answer.headers["content-type"].startswith(PROBLEM)
    as_owner = httpx.Client(
        base_url=f"{shape.base_url}/admin/v1", headers={"Authorization": f"Bearer {token}"}
    )
    with as_owner:
        for answer in (
            as_owner.get("/dead-letters"),
            as_owner.post(f"/dead-letters/{'0' * 32}/replay"),
        ):
            assert answer.status_code == 403
            assert answer.headers["content-type"].startswith(PROBLEM)
    assert httpx.get(f"{shape.base_url}/admin/v1/dead-letters").status_code == 401
