"""Reading the request log: keyset pages newest first (filtered), every record of a request,
and every matching record a batch at a time (for exports).

A page is one range of an index ending in (ts, id): the primary key for no filter or a time
range, (org_id, ts, id) for an org, and likewise for a team, a person, a key or a model. The
other filters (provider, status, latency...) are checked on the rows of that range. A `tag` is
a range of `request_tags` (the org's records that carry it, newest first), joined to the
records by their key; the other filters are checked on the records it finds.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domains.billing.request_log import TAG_SEPARATOR
from domains.shared.money import from_picodollars, usd_text
from infrastructure.db.tables import request_bodies, request_log, request_tags
from infrastructure.db.tables.billing import TAG_INDEXED
from infrastructure.queries.request_cursor import Cursor

OUTCOMES = frozenset(("ok", "error", "cancelled"))

FIELDS: tuple[str, ...] = (
    "request_id",
    "id",
    "ts",
    "org_id",
    "team_id",
    "user_id",
    "key_id",
    "dialect",
    "transport",
    "stream",
    "requested_model",
    "model",
    "upstream_model",
    "provider",
    "deployment",
    "route",
    "status",
    "outcome",
    "error_code",
    "cancelled",
    "latency_ms",
    "ttft_ms",
    "prompt_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cost_usd",
    "priced",
    "usage_reported",
    "cache",
    "tags",
    "metadata",
    "end_user",
)
"""A record's fields, in the order the API and the exports give them."""

_COLUMNS = tuple(column for column in request_log.columns if column.name != "tags")


@dataclass(frozen=True, slots=True)
class RequestFilter:
    """Which records: every condition given at once. `since` is inclusive, `until` exclusive;
    `status` is an outcome (`ok`, `error`, `cancelled`) or an HTTP status; `tag` one tag of
    the record (`domains.billing.request_log.RequestRecord.searchable_tags`)."""

    org_id: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    key_id: str | None = None
    model: str | None = None
    requested_model: str | None = None
    provider: str | None = None
    dialect: str | None = None
    status: str | None = None
    tag: str | None = None
    min_latency_ms: float | None = None
    since: datetime | None = None
    until: datetime | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        c = request_log.c
        if self.org_id is not None:
            if self.team_id is None and self.user_id is None and self.key_id is None:
                found.append(c.org_id == self.org_id)
            else:
                # a team, a person, a key is in one org: the range of their own index is the
                # page, the org only checked on its rows (not an index to intersect with theirs,
                # which sorts every record of the person to find the newest)
                found.append(c.org_id.concat("") == self.org_id)
        for column, value in (
            (c.team_id, self.team_id),
            (c.user_id, self.user_id),
            (c.key_id, self.key_id),
            (c.model, self.model),
            (c.requested_model, self.requested_model),
            (c.provider, self.provider),
            (c.dialect, self.dialect),
        ):
            if value is not None:
                found.append(column == value)
        if self.status is not None:
            if self.status in OUTCOMES:
                found.append(c.outcome == self.status)
            else:
                found.append(c.status == int(self.status))
        if self.tag is not None:
            found.append(c.tags.contains(TAG_SEPARATOR + self.tag + TAG_SEPARATOR, autoescape=True))
        if self.min_latency_ms is not None:
            found.append(c.latency_ms >= self.min_latency_ms)
        if self.since is not None:
            found.append(c.ts >= self.since)
        if self.until is not None:
            found.append(c.ts < self.until)
        return found


@dataclass(frozen=True, slots=True)
class RequestRow:
    """A record as the admin API reads it."""

    values: dict[str, Any]
    cursor: Cursor

    def as_dict(self) -> dict[str, Any]:
        return self.values


def _row(record: Any) -> RequestRow:
    values = dict(record._mapping)
    said = values.pop("caller_metadata") or {}
    ts: datetime = values["ts"]
    values["ts"] = ts.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    values["cost_usd"] = usd_text(from_picodollars(int(values.pop("cost_picousd"))))
    values["tags"] = list(said.get("tags") or ())
    values["metadata"] = said.get("metadata")
    values["end_user"] = said.get("user")
    return RequestRow({name: values[name] for name in FIELDS}, Cursor(ts, values["id"]))


RARE_TAG = 20_000
"""Fewer records than this carrying a tag (in the range asked, any org): its `request_tags` range
is read and sorted; more: the records are read newest first and their tags checked, as a tag
that common is met soon enough."""


def _tag_indexed(which: RequestFilter) -> bool:
    return which.tag is not None and len(which.tag) <= TAG_INDEXED


def _tag_range(which: RequestFilter) -> list[ColumnElement[bool]]:
    g = request_tags.c
    found = [g.tag == which.tag]
    if which.org_id is not None:
        found.append(g.org_id == which.org_id)
    if which.since is not None:
        found.append(g.ts >= which.since)
    if which.until is not None:
        found.append(g.ts < which.until)
    return found


async def _by_tag_index(conn: AsyncConnection, which: RequestFilter) -> bool:
    """Whether a page of `which` reads `request_tags`: with a tag it can hold, in an org (its
    range is the org's records with the tag, newest first), or in every org when the tag is
    rare enough that sorting its records costs little."""
    if not _tag_indexed(which):
        return False
    if which.org_id is not None:
        return True
    probe = select(func.count()).select_from(
        select(literal(1)).where(*_tag_range(which)).limit(RARE_TAG).subquery()
    )
    return int((await conn.execute(probe)).scalar_one()) < RARE_TAG


def page_query(
    which: RequestFilter,
    limit: int,
    after: Cursor | None = None,
    *,
    by_tag: bool = False,
    lateral: bool = False,
) -> Select[Any]:
    """The statement of a page: up to `limit` records before `after`, newest first. `by_tag`:
    the records found through `request_tags` (the tag's range, of the org when one is given),
    in the same order; `lateral` (PostgreSQL): each record read by its key for each row of
    that range in turn, so that the range is read newest first and no further than the page
    needs (a join the planner may make a scan of the org's records instead)."""
    c = request_log.c
    if by_tag and _tag_indexed(which):
        g = request_tags.c
        rest = replace(which, tag=None, org_id=None).conditions()
        if which.org_id is not None:
            rest.append(c.org_id == which.org_id)  # checked on the rows found
        keyset = []
        if after is not None:
            keyset.append(tuple_(g.ts, g.id) < tuple_(after.ts, after.id))
        order = (g.ts.desc(), g.id.desc())
        if lateral:
            # its LIMIT keeps the planner from flattening it into a join
            found = (
                select(*_COLUMNS).where(c.ts == g.ts, c.id == g.id, *rest).limit(1).lateral("found")
            )
            return (
                select(*found.c)
                .select_from(request_tags.join(found, true()))
                .where(*_tag_range(which), *keyset)
                .order_by(*order)
                .limit(limit)
            )
        return (
            select(*_COLUMNS)
            .select_from(request_tags.join(request_log, and_(c.ts == g.ts, c.id == g.id)))
            .where(*_tag_range(which), *rest, *keyset)
            .order_by(*order)
            .limit(limit)
        )
    where = which.conditions()
    if after is not None:
        where.append(tuple_(c.ts, c.id) < tuple_(after.ts, after.id))
    return select(*_COLUMNS).where(*where).order_by(c.ts.desc(), c.id.desc()).limit(limit)


async def request_page(
    engine: AsyncEngine,
    which: RequestFilter,
    *,
    limit: int = 50,
    after: Cursor | None = None,
    bodies: bool = False,
) -> list[RequestRow]:
    """A page; with `bodies`, each record has its `bodies` (null when none were kept)."""
    async with engine.connect() as conn:
        by_tag = await _by_tag_index(conn, which)
        lateral = conn.dialect.name == "postgresql"
        found = await conn.execute(page_query(which, limit, after, by_tag=by_tag, lateral=lateral))
        rows = [_row(record) for record in found.all()]
        if bodies:
            await _add_bodies(conn, rows, every=True)
        return rows


BODY_FIELDS = ("prompt", "response", "prompt_truncated", "response_truncated")
"""A record's `bodies`, in this order."""


async def _add_bodies(conn: AsyncConnection, rows: list[RequestRow], *, every: bool) -> None:
    """Each record's kept bodies as its `bodies` (a record without: null with `every`, else
    left without). One query by their ids, within their time range (one partition or a few)."""
    if not rows:
        return
    c = request_bodies.c
    times = [row.cursor.ts for row in rows]
    query = select(c.id, *(c[name] for name in BODY_FIELDS)).where(
        c.id.in_([row.cursor.id for row in rows]), c.ts >= min(times), c.ts <= max(times)
    )
    kept = {found.id: found._mapping for found in (await conn.execute(query)).all()}
    for row in rows:
        found = kept.get(row.cursor.id)
        if found is not None:
            row.values["bodies"] = {name: found[name] for name in BODY_FIELDS}
        elif every:
            row.values["bodies"] = None


async def request_records(
    engine: AsyncEngine, request_id: str, which: RequestFilter
) -> list[RequestRow]:
    """Every record of one request that passes `which` (its scope), oldest first: a request
    that failed over has one record per attempt."""
    c = request_log.c
    query = (
        select(*_COLUMNS)
        .where(c.request_id == request_id, *which.conditions())
        .order_by(c.ts, c.id)
        .limit(1000)
    )
    async with engine.connect() as conn:
        rows = [_row(record) for record in (await conn.execute(query)).all()]
        await _add_bodies(conn, rows, every=False)
        return rows


async def iter_requests(
    engine: AsyncEngine,
    which: RequestFilter,
    *,
    after: Cursor | None = None,
    batch: int = 1000,
    bodies: bool = False,
) -> AsyncIterator[RequestRow]:
    """Every record `which` selects, newest first, read `batch` at a time (each a page)."""
    while True:
        rows = await request_page(engine, which, limit=batch, after=after, bodies=bodies)
        for row in rows:
            yield row
        if len(rows) < batch:
            return
        after = rows[-1].cursor
