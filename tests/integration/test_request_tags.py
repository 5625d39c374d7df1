"""The request log's tag index on both databases: written with each record (one row per distinct
tag, metadata entry and end user), read by the `tag` filter of a page (of an org, or of every
org for a rare tag or a common one) with the same records, order and cursors as the scan of the
records' tags, and pruned with the records by the retention job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from domains.billing.request_log import RequestRecord
from infrastructure.db.engine import create_engine, create_sync_engine
from infrastructure.db.repositories.request_log import SqlRequestLog
from infrastructure.db.retention import Retained, RetentionPruner
from infrastructure.db.tables import request_tags
from infrastructure.queries import request_log as queries
from infrastructure.queries.request_log import RequestFilter, page_query, request_page
from tests.support.request_records import request_record

NOW = datetime.now(UTC).replace(microsecond=0)


def record(
    at: datetime,
    org: str,
    tags: tuple[str, ...],
    *,
    end_user: str | None = None,
    user: str | None = None,
) -> RequestRecord:
    return request_record(
        at,
        org_id=org,
        team_id=f"team-{org}",
        user_id=user,
        key_id=f"key-{org}",
        tags=tags,
        metadata={"session": "s1"} if "with-session" in tags else None,
        end_user=end_user,
    )


@pytest.fixture(
    params=[pytest.param("postgresql", marks=[pytest.mark.postgres]), pytest.param("sqlite")]
)
def database(request: pytest.FixtureRequest) -> str:
    fixture = "fresh_pg" if request.param == "postgresql" else "migrated_sqlite"
    url: str = request.getfixturevalue(fixture)
    return url


def history() -> list[RequestRecord]:
    found = []
    for i in range(40):
        at = NOW - timedelta(minutes=7 * i)
        org = "org-a" if i % 3 else "org-b"
        tags = ("common",) + (("with-session",) if i % 5 == 0 else ())
        found.append(
            record(
                at,
                org,
                tags,
                end_user="cust-rare" if i in (4, 17, 31) else None,
                user="person" if i % 2 else None,
            )
        )
    # two records at the same instant: the cursor's id decides
    found.append(record(NOW - timedelta(minutes=14), "org-a", ("common",), end_user="cust-rare"))
    return found


async def pages(url: str, which: RequestFilter, size: int) -> list[str]:
    engine = create_engine(url)
    try:
        seen: list[str] = []
        after = None
        while True:
            rows = await request_page(engine, which, limit=size, after=after)
            seen.extend(row.values["id"] for row in rows)
            if len(rows) < size:
                return seen
            after = rows[-1].cursor
    finally:
        await engine.dispose()


async def test_a_page_by_tag_reads_the_tag_index_as_the_scan_would(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = history()
    engine = create_engine(database)
    async with engine.begin() as conn:
        await SqlRequestLog(conn).add_all(records)
    async with engine.connect() as conn:
        indexed = (
            await conn.execute(sa.select(sa.func.count()).select_from(request_tags))
        ).scalar()
    await engine.dispose()
    # one row per tag: "common" on each, the session's metadata and the end user where given
    expected_rows = sum(
        1 + ("with-session" in r.tags) * 2 + (r.end_user is not None) for r in records
    )
    assert indexed == expected_rows

    def newest_first(selected: list[RequestRecord]) -> list[str]:
        return [r.id for r in sorted(selected, key=lambda r: (r.ts, r.id), reverse=True)]

    cases = [
        (
            RequestFilter(org_id="org-a", tag="user=cust-rare"),
            lambda r: r.org_id == "org-a" and r.end_user == "cust-rare",
        ),
        (RequestFilter(org_id="org-a", tag="common"), lambda r: r.org_id == "org-a"),
        (
            RequestFilter(org_id="org-b", tag="session=s1"),
            lambda r: r.org_id == "org-b" and r.metadata is not None,
        ),
        (RequestFilter(tag="user=cust-rare"), lambda r: r.end_user == "cust-rare"),
        (RequestFilter(tag="common"), lambda r: True),
        (
            RequestFilter(org_id="org-a", user_id="person", tag="common"),
            lambda r: r.org_id == "org-a" and r.user_id == "person",
        ),
        (
            RequestFilter(
                org_id="org-a",
                tag="common",
                since=NOW - timedelta(hours=2),
                until=NOW - timedelta(minutes=30),
            ),
            lambda r: (
                r.org_id == "org-a"
                and NOW - timedelta(hours=2) <= r.ts < NOW - timedelta(minutes=30)
            ),
        ),
        (RequestFilter(org_id="org-a", tag="nobody"), lambda r: False),
    ]
    for rare in (queries.RARE_TAG, 3):  # every org: a rare tag through the index, else the scan
        monkeypatch.setattr(queries, "RARE_TAG", rare)
        for which, selects in cases:
            expected = newest_first([r for r in records if selects(r)])
            for size in (1, 4, 100):
                assert await pages(database, which, size) == expected, (which, size, rare)


def test_the_page_statement_reads_the_tag_index_only_for_a_tag_it_holds() -> None:
    long_tag = "x" * 700  # longer than the index keeps: the records' tags are scanned
    assert "request_tags" in str(page_query(RequestFilter(org_id="o", tag="t"), 5, by_tag=True))
    assert "request_tags" not in str(page_query(RequestFilter(org_id="o", tag="t"), 5))
    assert "request_tags" not in str(
        page_query(RequestFilter(org_id="o", tag=long_tag), 5, by_tag=True)
    )


async def test_the_retention_job_prunes_the_tag_index_with_the_records(database: str) -> None:
    engine = create_engine(database)
    aged = [record(NOW - timedelta(days=days), "org-a", ("old",)) for days in (10, 40, 60)]
    async with engine.begin() as conn:
        await SqlRequestLog(conn).add_all(aged)
    await engine.dispose()
    sync = create_sync_engine(database)
    try:
        RetentionPruner(
            sync, [Retained("request_log", 30), Retained("request_tags", 30)], batch=1
        ).run()
        with sync.connect() as conn:
            left = sorted(conn.execute(sa.select(request_tags.c.id)).scalars())
    finally:
        sync.dispose()
    assert left == [aged[0].id]
    assert await pages(database, RequestFilter(org_id="org-a", tag="old"), 10) == [aged[0].id]
