"""Analytics through the running gateway, on both shapes: a known history of request log
records with fixed timestamps, written by the request log's own writer; the gateway's periodic
jobs fold it into the rollups and the summaries; the totals crossed by two dimensions, the
percentiles, the forecasts, the substitution advice and the summaries are checked against
hand-computed answers, for the right scopes only. A real chat completion is folded too."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from domains.billing import histogram
from domains.billing.request_log import RequestRecord
from infrastructure.db.engine import create_engine
from infrastructure.db.repositories.request_log import SqlRequestLog
from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config
from tests.support.services import REDIS_URL, postgres_database
from tests.support.tenants import Tenant, create_tenant, eventually

PICO = 10**12
TODAY = datetime.now(UTC).date()
DAY = TODAY - timedelta(days=2)  # the day crossed in detail


@dataclass(frozen=True)
class Running:
    gateway: GatewayProcess
    database_url: str


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.redis])],
)
def running(
    request: pytest.FixtureRequest, upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    workdir: Path = tmp_path_factory.mktemp(f"gateway-analytics-{request.param}")
    postgres = request.param == "postgres"
    with postgres_database() if postgres else contextlib.nullcontext("") as pg_url:
        url = pg_url if postgres else f"sqlite+aiosqlite:///{workdir / 'fr.db'}"
        config = gateway_config(
            database_url=url,
            redis_url=REDIS_URL if postgres else None,
            upstream_url=upstream.base_url,
            upstream_key=UPSTREAM_KEY,
        )
        config["routing"]["quality"] = {"gpt-4o": 0.9, "gpt-4o-mini": 0.88}
        config.setdefault("workers", {}).update(
            analytics_every_seconds=0.3, analytics_settle_seconds=0, summaries_every_seconds=1
        )
        process = GatewayProcess(
            workdir,
            config,
            admin_key="fradm-" + secrets.token_urlsafe(32),
            upstream_key=UPSTREAM_KEY,
            with_worker=postgres,
        )
        if postgres:
            process.env["FLUXROUTER_REDIS_NAMESPACE"] = f"fluxrouter-test-{secrets.token_hex(4)}"
        process.start()
        try:
            yield Running(process, url)
        finally:
            process.stop()


@pytest.fixture(scope="module")
def admin(running: Running) -> Iterator[httpx.Client]:
    with running.gateway.admin() as client:
        yield client


def record(
    tenant: Tenant,
    team_id: str,
    key_id: str,
    at: datetime,
    *,
    model: str,
    prompt: int,
    completion: int,
    cost_pico: int,
    latency_ms: float,
    status: int = 200,
    tags: tuple[str, ...] = (),
    user_id: str | None = None,
) -> RequestRecord:
    failed = status >= 400
    return RequestRecord(
        id=secrets.token_hex(16),
        ts=at,
        request_id=secrets.token_hex(8),
        org_id=tenant.org_id,
        team_id=team_id,
        user_id=user_id,
        key_id=key_id,
        dialect="chat",
        transport="http",
        stream=False,
        requested_model=model,
        model=model,
        upstream_model=model,
        provider="openai",
        deployment=f"openai/{model}",
        route=f"openai/{model}",
        status=status,
        outcome="error" if failed else "ok",
        error_code="upstream_server_error" if failed else "",
        cancelled=False,
        latency_ms=latency_ms,
        ttft_ms=None,
        prompt_tokens=prompt,
        cached_tokens=0,
        cache_write_tokens=0,
        completion_tokens=completion,
        reasoning_tokens=0,
        cost_picousd=cost_pico,
        priced=True,
        usage_reported=True,
        cache="off",
        tags=tags,
        metadata=None,
        end_user=None,
    )


def write(database_url: str, records: list[RequestRecord]) -> None:
    async def run() -> None:
        engine = create_engine(database_url)
        try:
            async with engine.begin() as conn:
                await SqlRequestLog(conn).add_all(records)
        finally:
            await engine.dispose()

    asyncio.run(run())


@dataclass(frozen=True)
class History:
    a: Tenant  # team a1: $1 a day on gpt-4o for 28 days, $0.25 today
    a2_team: str  # on DAY: two gpt-4o-mini calls, one failed
    a2_key: str
    b: Tenant  # another org, on DAY
    member_key: str  # a key of a member of org a (team a1), on DAY
    member: Any
    b3_team: str  # org b's team whose only key may use gpt-4o and gpt-3.5-turbo-instruct


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


@dataclass(frozen=True)
class Person:
    user_id: str
    token: str


def person(admin: httpx.Client, org_id: str, role: str) -> Person:
    name = f"{role}-{secrets.token_hex(3)}"
    made = admin.post(
        "/users", json={"org_id": org_id, "email": f"{name}@example.com", "role": role}
    )
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    token = admin.post(f"/users/{user_id}/tokens", json={})
    assert token.status_code == 201, token.text
    return Person(user_id, token.json()["token"])


@pytest.fixture(scope="module")
def history(running: Running, admin: httpx.Client) -> History:
    a = create_tenant(admin, f"analytics-a-{secrets.token_hex(3)}")
    b = create_tenant(admin, f"analytics-b-{secrets.token_hex(3)}")
    team = admin.post("/teams", json={"org_id": a.org_id, "name": "a2"})
    assert team.status_code == 201, team.text
    a2_team = team.json()["id"]
    key = admin.post("/keys", json={"team_id": a2_team, "name": "a2-key"})
    assert key.status_code == 201, key.text
    a2_key = key.json()["id"]
    member = person(admin, a.org_id, "member")
    made = admin.post(
        "/keys", json={"team_id": a.team_id, "name": "member", "user_id": member.user_id}
    )
    assert made.status_code == 201, made.text
    member_key = made.json()["id"]
    b3 = admin.post("/teams", json={"org_id": b.org_id, "name": "b3"})
    assert b3.status_code == 201, b3.text
    b3_team = b3.json()["id"]
    b3_key = admin.post(
        "/keys",
        json={"team_id": b3_team, "name": "b3", "models": ["gpt-4o", "gpt-3.5-turbo-instruct"]},
    )
    assert b3_key.status_code == 201, b3_key.text
    rows = [
        # $1 = 200k prompt tokens at $2.5/M + 50k completion tokens at $10/M
        record(
            a,
            a.team_id,
            a.key_id,
            at(TODAY - timedelta(days=n), 12),
            model="gpt-4o",
            prompt=200_000,
            completion=50_000,
            cost_pico=PICO,
            latency_ms=800.0,
        )
        for n in range(1, 29)
    ]
    rows.append(
        record(
            a,
            a.team_id,
            a.key_id,
            at(TODAY, 0),
            model="gpt-4o",
            prompt=50_000,
            completion=12_500,
            cost_pico=PICO // 4,
            latency_ms=800.0,
        )
    )
    rows += [
        # 1000 prompt tokens at $0.15/M + 500 completion tokens at $0.6/M = $0.00045
        record(
            a,
            a2_team,
            a2_key,
            at(DAY, 9, 10),
            model="gpt-4o-mini",
            prompt=1000,
            completion=500,
            cost_pico=450_000_000,
            latency_ms=100.0,
            tags=("feature=search", "nightly"),
        ),
        record(
            a,
            a2_team,
            a2_key,
            at(DAY, 9, 40),
            model="gpt-4o-mini",
            prompt=1000,
            completion=0,
            cost_pico=0,
            latency_ms=300.0,
            status=500,
            tags=("nightly",),
        ),
        record(
            a,
            a.team_id,
            member_key,
            at(DAY, 15),
            model="gpt-4o-mini",
            prompt=2000,
            completion=1000,
            cost_pico=900_000_000,
            latency_ms=50.0,
            user_id=member.user_id,
        ),
        record(
            b,
            b.team_id,
            b.key_id,
            at(DAY, 9),
            model="gpt-4o",
            prompt=1000,
            completion=1000,
            cost_pico=12_500_000_000,
            latency_ms=900.0,
        ),
    ]
    rows.append(
        record(
            b,
            b3_team,
            b3_key.json()["id"],
            at(DAY, 10),
            model="gpt-4o",
            prompt=1000,
            completion=1000,
            cost_pico=12_500_000_000,
            latency_ms=900.0,
        )
    )
    write(running.database_url, rows)
    return History(a, a2_team, a2_key, b, member_key, member, b3_team)


def as_(running: Running, who: Person) -> httpx.Client:
    return httpx.Client(
        base_url=f"{running.gateway.base_url}/admin/v1",
        timeout=10,
        headers={"Authorization": f"Bearer {who.token}"},
    )


def folded(client: httpx.Client, params: dict[str, str], check: Any) -> dict[str, Any]:
    """The analytics answer once the periodic fold has brought it to what `check` accepts."""

    def answer() -> dict[str, Any] | None:
        found = client.get("/analytics", params=params)
        assert found.status_code == 200, found.text
        body: dict[str, Any] = found.json()
        return body if check(body) else None

    result: dict[str, Any] = eventually(answer, timeout=30)
    return result


def problem(answer: httpx.Response, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == status
    return body


def day_window() -> dict[str, str]:
    start = at(DAY, 0)
    return {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat()}


def test_two_dimensions_crossed_per_day_with_error_rates_and_percentiles(
    admin: httpx.Client, history: History
) -> None:
    params = {
        **day_window(),
        "org_id": history.a.org_id,
        "by": "team_id,model",
        "bucket": "day",
        "metrics": "requests,errors,error_rate,cost_usd,prompt_tokens,completion_tokens,"
        "latency_p50_ms,latency_p95_ms",
    }
    body = folded(admin, params, lambda b: sum(r["requests"] for r in b["rows"]) == 4)
    rows = {(r["team_id"], r["model"]): r for r in body["rows"]}
    assert set(rows) == {
        (history.a.team_id, "gpt-4o"),
        (history.a.team_id, "gpt-4o-mini"),
        (history.a2_team, "gpt-4o-mini"),
    }
    big = rows[(history.a.team_id, "gpt-4o")]
    assert (big["bucket"], big["requests"], big["errors"], big["cost_usd"]) == (
        DAY.isoformat(),
        1,
        0,
        "1",
    )
    assert (big["prompt_tokens"], big["completion_tokens"]) == (200_000, 50_000)
    # 800 ms is in bucket ceil(4·log2 800) = 39: read as 2^(38.5/4)
    assert big["latency_p50_ms"] == pytest.approx(2 ** (38.5 / 4))
    small = rows[(history.a2_team, "gpt-4o-mini")]
    assert (small["requests"], small["errors"], small["error_rate"]) == (2, 1, 0.5)
    assert small["cost_usd"] == "0.00045"
    # nearest rank of two values: p50 the first (100 ms), p95 the second (300 ms)
    assert small["latency_p50_ms"] == pytest.approx(2 ** (26.5 / 4))
    assert small["latency_p95_ms"] == pytest.approx(2 ** (32.5 / 4))
    assert abs(small["latency_p95_ms"] - 300) <= histogram.RELATIVE_ERROR * 300
    # the dearest group first within a bucket
    assert body["rows"][0]["model"] == "gpt-4o"


def test_tags_cross_like_any_dimension_and_a_record_counts_under_each_of_its_tags(
    admin: httpx.Client, history: History
) -> None:
    params = {
        **day_window(),
        "org_id": history.a.org_id,
        "by": "tag",
        "metrics": "requests,errors,cost_usd",
    }
    body = folded(admin, params, lambda b: len(b["rows"]) == 2)
    assert {r["tag"]: (r["requests"], r["errors"], r["cost_usd"]) for r in body["rows"]} == {
        "nightly": (2, 1, "0.00045"),
        "feature=search": (1, 0, "0.00045"),
    }
    only = admin.get("/analytics", params={**params, "by": "model", "tag": "feature=search"})
    assert only.status_code == 200, only.text
    assert [(r["model"], r["requests"]) for r in only.json()["rows"]] == [("gpt-4o-mini", 1)]


def test_hours_months_and_the_whole_range(admin: httpx.Client, history: History) -> None:
    params = {**day_window(), "org_id": history.a.org_id, "bucket": "hour", "metrics": "requests"}
    body = folded(admin, params, lambda b: sum(r["requests"] for r in b["rows"]) == 4)
    hour = DAY.isoformat()
    assert [(r["bucket"], r["requests"]) for r in body["rows"]] == [
        (f"{hour}T09", 2),
        (f"{hour}T12", 1),
        (f"{hour}T15", 1),
    ]
    everything = admin.get(
        "/analytics",
        params={
            "team_id": history.a.team_id,
            "model": "gpt-4o",
            "metrics": "requests,cost_usd",
            "from": at(TODAY - timedelta(days=28), 0).isoformat(),
        },
    ).json()
    assert everything["rows"] == [{"bucket": None, "requests": 29, "cost_usd": "28.25"}]


def test_each_reader_sees_their_scope_only(
    running: Running, admin: httpx.Client, history: History
) -> None:
    params = {**day_window(), "by": "org_id", "metrics": "requests"}
    body = folded(
        admin,
        params,
        lambda b: (
            {(history.a.org_id, 4), (history.b.org_id, 2)}
            <= {(r["org_id"], r["requests"]) for r in b["rows"]}
        ),
    )
    assert {r["org_id"]: r["requests"] for r in body["rows"]}[history.b.org_id] == 2
    org_admin = person(admin, history.a.org_id, "admin")
    with as_(running, org_admin) as client:
        mine = client.get("/analytics", params=params).json()["rows"]
        assert mine == [{"bucket": None, "org_id": history.a.org_id, "requests": 4}]
        problem(client.get("/analytics", params={**params, "org_id": history.b.org_id}), 404)
        problem(
            client.get(
                "/analytics/forecast", params={"scope": "team", "scope_id": history.b.team_id}
            ),
            404,
        )
    with as_(running, history.member) as client:
        own = client.get("/analytics", params={**params, "by": "key_id"}).json()["rows"]
        assert own == [{"bucket": None, "key_id": history.member_key, "requests": 1}]
        problem(client.get("/analytics", params={"user_id": org_admin.user_id}), 403)
        problem(
            client.get(
                "/analytics/forecast", params={"scope": "team", "scope_id": history.a.team_id}
            ),
            403,
        )
        problem(
            client.get(
                "/analytics/forecast", params={"scope": "key", "scope_id": history.a.key_id}
            ),
            403,
        )
        mine_key = client.get(
            "/analytics/forecast", params={"scope": "key", "scope_id": history.member_key}
        )
        assert mine_key.status_code == 200, mine_key.text
        problem(client.get("/analytics/advice"), 403)
        problem(client.get("/analytics/summaries"), 403)


def test_bad_queries_are_problems(admin: httpx.Client) -> None:
    for params in (
        {"by": "team_id,model,provider"},
        {"by": "colour"},
        {"by": "model,model"},
        {"metrics": "requests,vibes"},
        {"bucket": "week"},
        {"from": "yesterday"},
        {"from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"},
    ):
        problem(admin.get("/analytics", params=params), 400)
    problem(admin.get("/analytics/forecast", params={"scope": "galaxy", "scope_id": "x"}), 400)
    problem(admin.get("/analytics/forecast", params={"scope": "team", "scope_id": "nope"}), 404)


def test_the_forecast_of_a_team_spending_a_dollar_a_day(
    admin: httpx.Client, history: History
) -> None:
    # history: $1 on each of the 28 days before today (no trend, no weekday effect), $0.25 today
    folded(
        admin,
        {
            "team_id": history.a.team_id,
            "metrics": "cost_usd",
            "from": at(TODAY - timedelta(days=28), 0).isoformat(),
        },
        lambda b: b["rows"] and b["rows"][0]["cost_usd"] == "28.2509",  # the member: 0.0009
    )
    first = TODAY.replace(day=1)
    days_before = min((TODAY - first).days, 28)  # the history's days in this month
    spent = Decimal(days_before) + Decimal("0.25")
    # the member's key is team a1's too: its $0.0009 on DAY counts when DAY is this month
    if first <= DAY:
        spent += Decimal("0.0009")
    limit = spent + Decimal(3)
    put = admin.put(
        f"/teams/{history.a.team_id}/budget", json={"period": "month", "max_usd": str(limit)}
    )
    assert put.status_code == 200, put.text
    answer = admin.get(
        "/analytics/forecast", params={"scope": "team", "scope_id": history.a.team_id}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    (month,) = [b for b in body["budgets"] if b["period"] == "month"]
    last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    days_after = (last - TODAY).days
    # the fitted line is flat at $1 a day apart from the member's $0.0009 on DAY
    model = body["model"]
    assert model["slope_usd_per_day"] == pytest.approx(0, abs=1e-3)
    assert model["intercept_usd"] == pytest.approx(1, abs=2e-3)
    assert Decimal(month["spent_usd"]) == spent
    expected = spent + Decimal("0.75") + days_after
    assert Decimal(month["projected_usd"]) == pytest.approx(expected, abs=Decimal("0.01"))
    # today spent + 0.75, then a dollar a day: the limit (spent + 3) is reached 3 days on
    runs_out = TODAY + timedelta(days=3)
    assert month["runs_out_on"] == (runs_out.isoformat() if runs_out <= last else None)
    assert month["limit_usd"] == str(limit)


def test_substitution_advice_reprices_the_teams_tokens(
    admin: httpx.Client, history: History
) -> None:
    folded(
        admin,
        {
            "team_id": history.a.team_id,
            "model": "gpt-4o",
            "metrics": "requests",
            "from": at(TODAY - timedelta(days=28), 0).isoformat(),
        },
        lambda b: b["rows"] and b["rows"][0]["requests"] == 29,
    )
    answer = admin.get("/analytics/advice", params={"team_id": history.a.team_id})
    assert answer.status_code == 200, answer.text
    rows = {row["model"]: row for row in answer.json()["rows"]}
    big = rows["gpt-4o"]
    # 29 calls: 5,650,000 prompt and 1,412,500 completion tokens, charged $28.25
    assert (big["requests"], big["prompt_tokens"], big["completion_tokens"], big["cost_usd"]) == (
        29,
        5_650_000,
        1_412_500,
        "28.25",
    )
    # on gpt-4o-mini (quality 0.88 ≥ 0.9 - 0.05): 5.65 x 0.15 + 1.4125 x 0.6 = 1.695
    assert big["candidates"] == [
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "quality": 0.88,
            "cost_usd": "1.695",
            "saving_usd": "26.555",
        }
    ]
    # nothing of similar quality is cheaper than gpt-4o-mini
    assert rows["gpt-4o-mini"]["candidates"] == []


def test_daily_and_monthly_summaries(admin: httpx.Client, history: History) -> None:
    def summary() -> dict[str, Any] | None:
        found = admin.get(
            "/analytics/summaries",
            params={"period": "day", "org_id": history.a.org_id, "from": TODAY.isoformat()},
        )
        assert found.status_code == 200, found.text
        rows = found.json()["rows"]
        return rows[0] if rows and rows[0]["cost_usd"] == "0.25" else None

    today = eventually(summary, timeout=30)
    # today: $0.25 on gpt-4o; yesterday $1
    assert (today["start"], today["requests"], today["errors"]) == (TODAY.isoformat(), 1, 0)
    assert (today["previous_cost_usd"], today["change_usd"], today["change_ratio"]) == (
        "1",
        "-0.75",
        -0.75,
    )
    assert today["top_models"] == [{"model": "gpt-4o", "requests": 1, "cost_usd": "0.25"}]
    assert today["p95_latency_ms"] == pytest.approx(2 ** (38.5 / 4))
    months = admin.get(
        "/analytics/summaries",
        params={"period": "month", "team_id": history.a2_team},
    ).json()["rows"]
    if DAY.month == TODAY.month:
        assert months
        assert months[0]["start"] == TODAY.isoformat()[:7]
        assert (months[0]["requests"], months[0]["errors"]) == (2, 1)


def test_a_real_completion_is_folded(running: Running, admin: httpx.Client) -> None:
    tenant = create_tenant(admin, f"analytics-real-{secrets.token_hex(3)}")
    answer = httpx.post(
        f"{running.gateway.base_url}/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {tenant.key}", "x-fluxrouter-tags": "feature=real"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    usage = answer.json()["usage"]
    body = folded(
        admin,
        {
            "org_id": tenant.org_id,
            "by": "tag,dialect",
            "metrics": "requests,prompt_tokens,completion_tokens",
        },
        lambda b: bool(b["rows"]),
    )
    assert body["rows"] == [
        {
            "bucket": None,
            "tag": "feature=real",
            "dialect": "chat",
            "requests": 1,
            "prompt_tokens": usage["prompt_tokens"],
            "completion_tokens": usage["completion_tokens"],
        }
    ]


def test_advice_offers_only_models_the_teams_keys_may_use(
    admin: httpx.Client, history: History
) -> None:
    folded(
        admin,
        {"org_id": history.b.org_id, "from": at(DAY, 0).isoformat(), "metrics": "requests"},
        lambda b: b["rows"] and b["rows"][0]["requests"] == 2,
    )
    answer = admin.get("/analytics/advice", params={"org_id": history.b.org_id})
    assert answer.status_code == 200, answer.text
    rows = {row["team_id"]: row for row in answer.json()["rows"]}
    # 1000 prompt and 1000 completion tokens: $0.0125 on gpt-4o, $0.00075 on gpt-4o-mini
    assert rows[history.b.team_id]["candidates"] == [
        {
            "provider": "openai",
            "model": "gpt-4o-mini",
            "quality": 0.88,
            "cost_usd": "0.00075",
            "saving_usd": "0.01175",
        }
    ]
    # team b3's only key may not use gpt-4o-mini; gpt-3.5-turbo-instruct's quality is 0.5
    assert rows[history.b3_team]["cost_usd"] == "0.0125"
    assert rows[history.b3_team]["candidates"] == []
