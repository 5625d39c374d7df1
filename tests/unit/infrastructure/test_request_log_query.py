"""The request log's reads: the cursor (round trip, refusals), pages newest first over records
that share a moment, every filter, one request's records, and the exports' formats; over a
SQLite database in memory, written by the request log's own repository."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from domains.billing.request_log import RequestRecord
from infrastructure.db.repositories.request_log import SqlRequestLog
from infrastructure.db.tables import metadata
from infrastructure.queries.request_cursor import BadCursor, Cursor
from infrastructure.queries.request_log import (
    FIELDS,
    RequestFilter,
    RequestRow,
    iter_requests,
    request_page,
    request_records,
)
from interfaces.http.admin.requests_export import csv_chunks, format_of, jsonl_chunks

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def record(n: int, **changed: Any) -> RequestRecord:
    base = RequestRecord(
        id=f"{n:032x}",
        ts=T0 + timedelta(seconds=n // 2),  # two records a second: ties on ts
        request_id=f"req-{n}",
        org_id="org-a" if n % 3 else "org-b",
        team_id="team-1",
        user_id="user-1" if n % 2 else None,
        key_id="key-1",
        dialect="chat",
        transport="http",
        stream=bool(n % 2),
        requested_model="auto",
        model="gpt-4o-mini" if n % 4 else "claude-haiku-4-5",
        upstream_model="gpt-4o-mini",
        provider="openai" if n % 4 else "anthropic",
        deployment="openai/gpt-4o-mini",
        route="only openai/gpt-4o-mini",
        status=200,
        outcome="ok",
        error_code="",
        cancelled=False,
        latency_ms=float(n * 10),
        ttft_ms=float(n) if n % 2 else None,
        prompt_tokens=n,
        cached_tokens=0,
        cache_write_tokens=0,
        completion_tokens=2 * n,
        reasoning_tokens=0,
        cost_picousd=n * 1_500_000,
        priced=True,
        usage_reported=True,
        cache="off",
        tags=(),
        metadata=None,
        end_user=None,
    )
    return msgspec.structs.replace(base, **changed) if changed else base


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    made = create_async_engine("sqlite+aiosqlite://")
    async with made.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield made
    await made.dispose()


async def write(engine: AsyncEngine, records: list[RequestRecord]) -> None:
    async with engine.begin() as conn:
        await SqlRequestLog(conn).add_all(records)


def ids(rows: list[RequestRow]) -> list[str]:
    return [row.values["request_id"] for row in rows]


# the cursor


def test_a_cursor_reads_back_as_the_key_it_was_made_of() -> None:
    cursor = Cursor(datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC), "01a25230" * 4)
    text = cursor.encode()
    assert text.isascii()
    assert "=" not in text
    assert Cursor.decode(text) == cursor


@pytest.mark.parametrize(
    "text",
    [
        "",
        "x" * 201,
        "not base64 at all!",
        "bm90IGEgY3Vyc29y",  # "not a cursor"
        "MjAyNi0xMi0wN1QxMjowMDowMHw",  # a time and no id
        "MjAyNi0xMi0wN1QxMjowMDowMCswMTowMHxhYmM",  # a time with an offset
        "MjAyNi0xMi0wN1QxMjowMDowMHxhYiBj",  # an id with a space
        "__8",  # not UTF-8
    ],
)
def test_what_no_page_gave_is_refused(text: str) -> None:
    with pytest.raises(BadCursor):
        Cursor.decode(text)


# pages and filters


async def test_pages_walk_every_record_newest_first_once_even_across_ties(
    engine: AsyncEngine,
) -> None:
    records = [record(n) for n in range(11)]
    await write(engine, records[::2])
    await write(engine, records[1::2])
    seen: list[str] = []
    after: Cursor | None = None
    while True:
        page = await request_page(engine, RequestFilter(), limit=3, after=after)
        seen.extend(ids(page))
        if len(page) < 3:
            break
        after = page[-1].cursor
    expected = sorted(records, key=lambda r: (r.ts, r.id), reverse=True)
    assert seen == [r.request_id for r in expected]
    streamed = [row async for row in iter_requests(engine, RequestFilter(), batch=4)]
    assert ids(streamed) == seen


async def test_a_row_reads_as_the_api_gives_it(engine: AsyncEngine) -> None:
    said = record(3, tags=("a", "b=c"), metadata={"feature": "x"}, end_user="u1")
    await write(engine, [said])
    (row,) = await request_page(engine, RequestFilter())
    assert list(row.values) == list(FIELDS)
    assert row.values["ts"] == "2026-12-07T12:00:01.000000Z"
    assert row.values["cost_usd"] == "0.0000045"
    assert (row.values["tags"], row.values["metadata"], row.values["end_user"]) == (
        ["a", "b=c"],
        {"feature": "x"},
        "u1",
    )
    assert row.cursor == Cursor(said.ts, said.id)


@pytest.mark.parametrize(
    ("which", "expected"),
    [
        (RequestFilter(org_id="org-b"), [9, 6, 3, 0]),
        (RequestFilter(user_id="user-1"), [9, 7, 5, 3, 1]),
        (RequestFilter(model="claude-haiku-4-5"), [8, 4, 0]),
        (RequestFilter(provider="anthropic", org_id="org-a"), [8, 4]),
        (RequestFilter(status="error"), [7]),
        (RequestFilter(status="502"), [7]),
        (RequestFilter(status="cancelled"), [5]),
        (RequestFilter(status="ok", min_latency_ms=60), [9, 8, 6]),
        (
            RequestFilter(since=T0 + timedelta(seconds=2), until=T0 + timedelta(seconds=4)),
            [7, 6, 5, 4],
        ),
        (RequestFilter(tag="50%_off"), [2]),
        (RequestFilter(tag="50%"), []),  # a whole tag, its wildcards as they are
        (RequestFilter(tag="feature=search"), [1]),
        (RequestFilter(tag="user=alice"), [1]),
        (RequestFilter(team_id="team-1", key_id="key-1", dialect="ws"), []),
        (RequestFilter(requested_model="auto", org_id="org-a", user_id="user-1"), [7, 5, 1]),
    ],
)
async def test_every_filter_selects_its_records(
    engine: AsyncEngine, which: RequestFilter, expected: list[int]
) -> None:
    special = {
        1: {"metadata": {"feature": "search"}, "end_user": "alice"},
        2: {"tags": ("50%_off", "x")},
        5: {"outcome": "cancelled", "cancelled": True},
        7: {"status": 502, "outcome": "error", "error_code": "upstream_server_error"},
    }
    await write(engine, [record(n, **special.get(n, {})) for n in range(10)])
    assert ids(await request_page(engine, which, limit=100)) == [f"req-{n}" for n in expected]


async def test_a_requests_records_are_its_attempts_oldest_first_within_its_scope(
    engine: AsyncEngine,
) -> None:
    first = record(1, request_id="r", status=502, outcome="error")
    second = record(2, request_id="r")
    await write(engine, [second, first, record(3)])
    assert [row.values["id"] for row in await request_records(engine, "r", RequestFilter())] == [
        first.id,
        second.id,
    ]
    assert await request_records(engine, "r", RequestFilter(org_id="org-b")) == []
    only_mine = RequestFilter(user_id="user-1")
    assert [row.values["id"] for row in await request_records(engine, "r", only_mine)] == [first.id]


# exports


def test_the_format_is_the_query_s_else_the_accept_header_s_else_json() -> None:
    assert format_of("csv", "application/x-ndjson") == "csv"
    assert format_of(None, "text/html, text/csv;q=0.9") == "csv"
    assert format_of(None, "application/jsonl") == "jsonl"
    assert format_of(None, "application/json") == "json"
    assert format_of(None, None) == "json"


async def _rows(values: list[dict[str, Any]]) -> AsyncIterator[RequestRow]:
    for n, row in enumerate(values):
        yield RequestRow(row, Cursor(T0, f"{n:032x}"))


def _values(n: int) -> dict[str, Any]:
    return {
        name: None
        if name in ("ttft_ms", "metadata", "end_user", "user_id")
        else [f"t,{n}", 'q"']
        if name == "tags"
        else True
        if name == "stream"
        else f"{name}-{n}"
        for name in FIELDS
    }


async def test_csv_has_a_header_then_a_row_a_record_that_reads_back() -> None:
    values = [_values(n) for n in range(1203)]
    text = b"".join([chunk async for chunk in csv_chunks(_rows(values))]).decode()
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == list(FIELDS)
    assert len(table) == 1204
    row = dict(zip(FIELDS, table[5], strict=True))
    assert row["request_id"] == "request_id-4"
    assert (row["stream"], row["ttft_ms"], row["metadata"]) == ("true", "", "")
    assert json.loads(row["tags"]) == ["t,4", 'q"']


async def test_json_lines_are_one_object_a_record() -> None:
    values = [_values(n) for n in range(501)]
    text = b"".join([chunk async for chunk in jsonl_chunks(_rows(values))])
    lines = text.decode().splitlines()
    assert [msgspec.json.decode(line) for line in lines] == values
    assert text.endswith(b"\n")
    assert [chunk async for chunk in jsonl_chunks(_rows([]))] == []
