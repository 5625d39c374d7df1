"""Kept bodies and the request log's retention, through the running gateway on both shapes:
bodies only for a team or key that opted in (audited), scrubbed of secrets however nested and
of personal data (built-in and configured patterns), in a request's records and in pages only
with `include=bodies`, never to a reader who may not see the request; and the retention job
removes what is past retention (rows, or whole day partitions on PostgreSQL) and keeps the
rest."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from infrastructure.db.retention import Retained, RetentionPruner
from tests.conftest import UPSTREAM_KEY
from tests.e2e.test_request_log import as_, new_id, person, post, problem, records
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.tenants import Tenant, create_tenant, eventually

PROVIDER_SECRET = "sk-proj-NestedProviderSecret0123456789"
VIRTUAL_KEY = "fr-PlantedVirtualKeyInAPrompt0123"


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def gateway(
    request: pytest.FixtureRequest, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    def config(database_url: str, redis_url: str | None) -> dict[str, Any]:
        return gateway_config(
            database_url=database_url,
            redis_url=redis_url,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
        )

    with own_gateway(
        request.param,
        tmp_path_factory.mktemp(f"gateway-bodies-{request.param}"),
        config,
        upstream_key=UPSTREAM_KEY,
        request_log={"pii_patterns": [{"name": "employee_id", "regex": "EMP-[0-9]{6}"}]},
    ) as process:
        yield process


def opt_in(admin: httpx.Client, scope: str, target_id: str, enabled: bool) -> None:
    path = f"/{scope}s/{target_id}/request-bodies"
    answer = admin.put(path, json={"enabled": enabled})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"scope": scope, "id": target_id, "enabled": enabled}
    assert admin.get(path).json()["enabled"] is enabled


def prompt_with_secrets() -> dict[str, Any]:
    return {
        "model": "gpt-4o-mini",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "mail ann@corp.example, card 4111 1111 1111 1111, "
                        f"key {VIRTUAL_KEY}",
                    }
                ],
            },
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {
                            "name": "lookup",
                            "arguments": json.dumps({"auth": {"token": PROVIDER_SECRET}}),
                        },
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "badge EMP-123456"},
        ],
    }


def test_bodies_are_kept_only_once_a_team_opts_in_and_then_scrubbed(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, f"bodies-{secrets.token_hex(3)}")
    before = new_id("before")
    post(gateway, "/v1/chat/completions", prompt_with_secrets(), before, tenant.key)
    (record,) = records(admin, before)
    assert "bodies" not in record  # off by default: nothing kept
    opt_in(admin, "team", tenant.team_id, True)
    rid = new_id("kept")
    answer = post(gateway, "/v1/chat/completions", prompt_with_secrets(), rid, tenant.key)
    found = eventually(lambda: admin.get(f"/requests/{rid}").json().get("attempts"))
    (attempt,) = found
    bodies = attempt["bodies"]
    prompt, response = bodies["prompt"], bodies["response"]
    for secret in (PROVIDER_SECRET, VIRTUAL_KEY, "ann@corp.example", "4111 1111", "EMP-123456"):
        assert secret not in prompt
    for scrubbed in ("[REDACTED:email]", "[REDACTED:card]", "[REDACTED:employee_id]"):
        assert scrubbed in prompt
    sent = json.loads(prompt)  # still the JSON that was sent, its strings scrubbed
    assert sent["messages"][2] == {
        "role": "tool",
        "tool_call_id": "call_1",
        "content": "badge [REDACTED:employee_id]",
    }
    assert json.loads(response)["id"] == answer.json()["id"]
    assert bodies["prompt_truncated"] is False
    assert bodies["response_truncated"] is False
    # the opt-in is audited
    audit = admin.get("/audit", params={"action": "team.bodies_logging"}).json()
    assert any(row["target"] == f"team:{tenant.team_id}" for row in audit["rows"])
    # a stream's relayed events are kept too, each scrubbed
    streamed = new_id("stream")
    body = {**prompt_with_secrets(), "stream": True}
    post(gateway, "/v1/chat/completions", body, streamed, tenant.key)
    (attempt,) = eventually(lambda: admin.get(f"/requests/{streamed}").json().get("attempts"))
    assert "data: " in attempt["bodies"]["response"]
    assert PROVIDER_SECRET not in attempt["bodies"]["prompt"]
    # opted out again: nothing more is kept
    opt_in(admin, "team", tenant.team_id, False)
    after = new_id("after")
    post(gateway, "/v1/chat/completions", prompt_with_secrets(), after, tenant.key)
    (record,) = records(admin, after)
    assert "bodies" not in record


def test_a_key_opts_in_alone_and_bodies_show_in_pages_only_when_asked(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant = create_tenant(admin, f"bodies-key-{secrets.token_hex(3)}")
    other_key = admin.post("/keys", json={"team_id": tenant.team_id, "name": "not-kept"})
    assert other_key.status_code == 201, other_key.text
    opt_in(admin, "key", tenant.key_id, True)
    kept, plain = new_id("key-kept"), new_id("key-plain")
    post(gateway, "/v1/chat/completions", prompt_with_secrets(), kept, tenant.key)
    post(gateway, "/v1/chat/completions", prompt_with_secrets(), plain, other_key.json()["key"])
    eventually(lambda: admin.get(f"/requests/{kept}").json().get("attempts"))
    records(admin, plain)
    page = admin.get("/requests", params={"team_id": tenant.team_id}).json()["rows"]
    assert all("bodies" not in row for row in page)
    page = admin.get("/requests", params={"team_id": tenant.team_id, "include": "bodies"})
    assert page.status_code == 200, page.text
    by_rid = {row["request_id"]: row for row in page.json()["rows"]}
    assert by_rid[plain]["bodies"] is None
    assert "[REDACTED:email]" in by_rid[kept]["bodies"]["prompt"]
    lines = admin.get(
        "/requests", params={"team_id": tenant.team_id, "format": "jsonl", "include": "bodies"}
    ).text.splitlines()
    assert {json.loads(line)["request_id"] for line in lines} == {kept, plain}
    problem(admin.get("/requests", params={"include": "everything"}), 400)


def test_bodies_are_never_shown_to_a_reader_who_may_not_see_the_request(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    mine = create_tenant(admin, f"bodies-mine-{secrets.token_hex(3)}")
    other = create_tenant(admin, f"bodies-other-{secrets.token_hex(3)}")
    opt_in(admin, "team", mine.team_id, True)
    rid = new_id("scoped")
    post(gateway, "/v1/chat/completions", prompt_with_secrets(), rid, mine.key)
    eventually(lambda: admin.get(f"/requests/{rid}").json().get("attempts"))
    outsider = person(admin, other.org_id, "admin")
    member = person(admin, mine.org_id, "member")
    with as_(gateway, outsider) as client:
        problem(client.get(f"/requests/{rid}"), 404)
        rows = client.get("/requests", params={"include": "bodies"}).json()["rows"]
        assert rid not in {row["request_id"] for row in rows}
        # nor may another org's admin opt this team in or out, or read its setting
        problem(client.put(f"/teams/{mine.team_id}/request-bodies", json={"enabled": False}), 404)
        problem(client.get(f"/keys/{mine.key_id}/request-bodies"), 404)
    with as_(gateway, member) as client:
        problem(client.get(f"/requests/{rid}"), 404)  # not the member's key
        problem(client.put(f"/teams/{mine.team_id}/request-bodies", json={"enabled": True}), 403)
    problem(admin.put(f"/teams/{mine.team_id}/request-bodies", json={"enabled": "yes"}), 400)


# retention


def _copy_aged(engine: Any, table: str, rid: str, new_rid: str, days: int) -> None:
    """A copy of a request's records `days` older, as another request."""
    with engine.begin() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table} WHERE request_id = :r"), {"r": rid})
        for row in rows.mappings().all():
            values = dict(row)
            values["request_id"] = new_rid
            values["id"] = secrets.token_hex(16)
            ts = values["ts"]  # SQLite answers it as text
            ts = datetime.fromisoformat(ts) if isinstance(ts, str) else ts
            values["ts"] = ts - timedelta(days=days)
            names = ", ".join(values)
            marks = ", ".join(f":{name}" for name in values)
            conn.execute(text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)


def test_the_retention_job_removes_what_is_past_retention_and_keeps_the_rest(
    gateway: GatewayProcess, admin: httpx.Client
) -> None:
    tenant: Tenant = create_tenant(admin, f"bodies-retention-{secrets.token_hex(3)}")
    opt_in(admin, "team", tenant.team_id, True)
    fresh = new_id("fresh")
    post(gateway, "/v1/chat/completions", prompt_with_secrets(), fresh, tenant.key)
    eventually(lambda: admin.get(f"/requests/{fresh}").json().get("attempts"))
    engine = create_engine(gateway.database_url)
    pruner = RetentionPruner(
        engine, [Retained("request_log", 30), Retained("request_bodies", 7)], batch=2
    )
    postgres = gateway.shape == "postgres"
    now = datetime.now(UTC)
    if postgres:  # a partition of a day long past, as the job made it then
        pruner.make_partitions("request_log", (now - timedelta(days=40)).date())
    aged = {days: new_id(f"aged{days}") for days in (10, 40, 60)}
    for days, rid in aged.items():
        _copy_aged(engine, "request_log", fresh, rid, days)
    for days in (3, 10):
        _copy_aged(engine, "request_bodies", fresh, f"bodies-{days}", days)
    pruned = pruner.run()
    assert pruned.rows["request_log"] >= (1 if postgres else 2)  # 60 days: the default's
    if postgres:
        dropped = pruned.partitions["request_log"]
        assert f"request_log_p{(now - timedelta(days=40)):%Y%m%d}" in dropped
        assert all(
            day > (now - timedelta(days=31)).date() for day in pruner.partitions("request_log")
        )
        assert (now + timedelta(days=7)).date() in pruner.partitions("request_log")  # made ahead
    for days, rid in aged.items():
        expected = 200 if days < 30 else 404
        assert admin.get(f"/requests/{rid}").status_code == expected
    (attempt,) = admin.get(f"/requests/{fresh}").json()["attempts"]
    assert attempt["bodies"] is not None  # a day old: kept
    with engine.connect() as conn:
        kept = set(conn.execute(text("SELECT request_id FROM request_bodies")).scalars())
    assert "bodies-3" in kept
    assert "bodies-10" not in kept
    assert pruner.run().rows == {"request_log": 0, "request_bodies": 0}  # nothing left to do
    engine.dispose()
