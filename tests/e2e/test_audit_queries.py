"""`GET /admin/v1/audit`: filters by target and by time (RFC 3339, `from` inclusive, `to`
exclusive), with actor and action, keyset pages that miss and repeat nothing, refused input."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.tenants import create_tenant

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.both_shapes]


def _pages(admin: httpx.Client, limit: int, **filters: str) -> list[dict[str, Any]]:
    """Every row that passes `filters`, page by page; each page checked as it comes."""
    rows: list[dict[str, Any]] = []
    after: int | None = 0
    while after is not None:
        answer = admin.get("/audit", params={**filters, "after_seq": after, "limit": limit})
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert len(body["rows"]) <= limit
        if body["rows"]:
            assert body["rows"][0]["seq"] > after
        assert body["next_after_seq"] == (
            body["rows"][-1]["seq"] if len(body["rows"]) == limit else None
        )
        rows += body["rows"]
        after = body["next_after_seq"]
    return rows


def _moment(ts: str) -> datetime:
    return datetime.fromisoformat(ts)


def _problem(answer: httpx.Response, code: str) -> dict[str, Any]:
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    assert body["status"] == 400
    assert body["code"] == code, body
    return body


def test_rows_about_one_target(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "audit-target")
        other = create_tenant(admin, "audit-target-other")
        budget = {"period": "month", "max_usd": "5"}
        assert admin.put(f"/teams/{tenant.team_id}/budget", json=budget).status_code == 200
        rows = _pages(admin, 1, target=f"team:{tenant.team_id}")
        assert [row["action"] for row in rows] == ["team.create", "budget.set"]
        assert {row["target"] for row in rows} == {f"team:{tenant.team_id}"}
        (key_row,) = _pages(admin, 10, target=f"key:{other.key_id}", action="key.create")
        assert key_row["data"]["team_id"] == other.team_id
        assert _pages(admin, 10, target=f"key:{other.key_id}", actor="nobody") == []
        assert _pages(admin, 10, target="team:no-such-team") == []


def test_time_windows_are_half_open_and_any_offset_names_the_same_instant(
    gateway: GatewayProcess,
) -> None:
    with gateway.admin() as admin:
        made = []
        for n in range(3):
            org = admin.post("/orgs", json={"name": f"audit-window-{n}"})
            assert org.status_code == 201
            made.append(f"org:{org.json()['id']}")
            time.sleep(0.01)
        rows = {
            row["target"]: row
            for row in _pages(admin, 1000, action="org.create")
            if row["target"] in made
        }
        first, middle, last = (rows[target] for target in made)

        def window(**bounds: str) -> list[str]:
            found = _pages(admin, 1000, action="org.create", **bounds)
            return [row["target"] for row in found if row["target"] in made]

        assert window(**{"from": first["ts"], "to": last["ts"]}) == made[:2]
        assert window(**{"from": middle["ts"]}) == made[1:]
        assert window(to=middle["ts"]) == made[:1]
        assert window(**{"from": middle["ts"], "to": middle["ts"]}) == []
        # The same instants written with another offset, lower case, more digits.
        plus_two = timezone(timedelta(hours=2))
        start = _moment(middle["ts"]).astimezone(plus_two).isoformat(timespec="microseconds")
        end = (_moment(last["ts"]) + timedelta(microseconds=1)).astimezone(UTC)
        end_text = end.strftime("%Y-%m-%dt%H:%M:%S.%f000z")
        assert window(**{"from": start, "to": end_text}) == made[1:]


@pytest.mark.parametrize("limit", [1, 3, 7, 1000])
def test_time_window_pages_hold_exactly_the_rows_of_the_window(
    gateway: GatewayProcess, limit: int
) -> None:
    with gateway.admin() as admin:
        everything = _pages(admin, 1000)
        while len(everything) < 40:  # enough rows for pages to start far before the window
            assert admin.post("/orgs", json={"name": "audit-pages"}).status_code == 201
            everything = _pages(admin, 1000)
        # A window over some rows in the middle of the log, another up to its head: pages that
        # start far before the window and pages inside it.
        middle = everything[len(everything) // 2]
        near_end = everything[-5]
        for bounds in (
            {"from": middle["ts"], "to": near_end["ts"]},
            {"from": near_end["ts"]},
            {"to": everything[3]["ts"]},
        ):
            since = _moment(bounds.get("from", "0001-01-01T00:00:00Z"))
            until = _moment(bounds.get("to", "9999-12-31T23:59:59.999999Z"))
            expected = [row for row in everything if since <= _moment(row["ts"]) < until]
            # rows appended since the snapshot (a refusal row the coalescer writes late, say)
            # fall in the window open to the head: the window is compared up to the snapshot
            head = everything[-1]["seq"]
            got = [row for row in _pages(admin, limit, **bounds) if row["seq"] <= head]
            assert [row["seq"] for row in got] == [row["seq"] for row in expected], bounds
            assert got == expected


def test_time_filters_combine_with_the_others(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        tenant = create_tenant(admin, "audit-combined")
        (team_row,) = _pages(admin, 10, target=f"team:{tenant.team_id}")
        start = team_row["ts"]
        rows = _pages(admin, 2, action="key.create", **{"from": start})
        assert f"key:{tenant.key_id}" in [row["target"] for row in rows]
        assert all(row["action"] == "key.create" for row in rows)
        assert all(_moment(row["ts"]) >= _moment(start) for row in rows)
        assert _pages(admin, 10, target=f"team:{tenant.team_id}", to=start) == []
        assert _pages(admin, 10, actor="admin", target=f"team:{tenant.team_id}", **{"from": start})


def test_bad_times_and_ranges_are_refused_in_the_problem_shape(gateway: GatewayProcess) -> None:
    with gateway.admin() as admin:
        for bad in (
            "yesterday",
            "2026-11-23",  # a date names no instant
            "2026-11-23T19:00:00",  # nor does a time without an offset
            "2026-02-30T00:00:00Z",
            "2026-11-23T25:00:00Z",
            "2026-11-23T19:00:00+24:00",
            "0001-01-01T00:00:00+01:00",  # before the first instant there is
            "2026-11-23T19:00:00.Z",
            "２０２６-11-23T19:00:00Z",
        ):
            body = _problem(admin.get("/audit", params={"from": bad}), "invalid_time")
            assert "`from`" in body["detail"]
            _problem(admin.get("/audit", params={"to": bad}), "invalid_time")
        body = _problem(
            admin.get(
                "/audit", params={"from": "2026-11-24T00:00:00Z", "to": "2026-11-24T00:30:00+01:00"}
            ),
            "invalid_range",
        )
        assert "after" in body["detail"]
        for fine in (
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2016-12-31T23:59:60Z",
        ):
            assert admin.get("/audit", params={"from": fine, "limit": 1}).status_code == 200
        assert admin.get("/audit", params={"target": "x" * 301}).status_code == 400
        assert admin.get("/audit", params={"target": "a\x00b"}).status_code == 400
