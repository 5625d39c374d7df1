"""The request log's writes: a batch of records in one statement, as the usage ledger writes
its rows (on PostgreSQL one `INSERT … SELECT FROM json_to_recordset(:rows)`, a statement of fixed
text whatever the batch's size; elsewhere an executemany)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from domains.billing.request_log import TAG_SEPARATOR, RequestBodies, RequestRecord
from infrastructure.db.recordset import as_recordset, recordset_insert
from infrastructure.db.tables import request_bodies, request_log, request_tags
from infrastructure.db.tables.billing import TAG_INDEXED


class SqlRequestLog:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_all(self, records: Sequence[RequestRecord]) -> None:
        if not records:
            return
        rows = [_row(record) for record in records]
        tags = _tag_rows(rows)
        if self._conn.dialect.name == "postgresql":
            await self._conn.execute(_PG_INSERT, as_recordset(request_log, rows))
            if tags:
                await self._conn.execute(_PG_TAGS, as_recordset(request_tags, tags))
            return
        await self._conn.execute(_INSERT, rows)
        if tags:
            await self._conn.execute(_TAGS, tags)

    async def add_bodies(self, bodies: Sequence[RequestBodies]) -> None:
        if not bodies:
            return
        rows = [
            {
                "ts": kept.ts,
                "id": kept.id,
                "request_id": kept.request_id,
                "prompt": kept.prompt,
                "response": kept.response,
                "prompt_truncated": kept.prompt_truncated,
                "response_truncated": kept.response_truncated,
            }
            for kept in bodies
        ]
        await self._conn.execute(request_bodies.insert(), rows)


_INSERT = request_log.insert()
_PG_INSERT = recordset_insert(request_log, [column.name for column in request_log.columns])
_TAGS = request_tags.insert()
_PG_TAGS = recordset_insert(request_tags, ["tag", "org_id", "ts", "id"])


def _tag_rows(rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """The `request_tags` rows of records: one per distinct tag each carries (a tag longer than
    the index takes is left to the `tag` filter's scan)."""
    found: list[dict[str, object]] = []
    for row in rows:
        searchable = row["tags"]
        if not isinstance(searchable, str):
            continue
        for tag in sorted(set(searchable.split(TAG_SEPARATOR))):
            if tag and len(tag) <= TAG_INDEXED:
                found.append(
                    {"tag": tag, "org_id": row["org_id"], "ts": row["ts"], "id": row["id"]}
                )
    return found


def _row(record: RequestRecord) -> dict[str, object]:
    said: dict[str, object] | None = None
    if record.tags or record.metadata or record.end_user is not None:
        said = {"tags": list(record.tags), "metadata": record.metadata, "user": record.end_user}
    return {
        "ts": record.ts,
        "id": record.id,
        "request_id": record.request_id,
        "org_id": record.org_id,
        "team_id": record.team_id,
        "user_id": record.user_id,
        "key_id": record.key_id,
        "dialect": record.dialect,
        "transport": record.transport,
        "stream": record.stream,
        "requested_model": record.requested_model,
        "model": record.model,
        "upstream_model": record.upstream_model,
        "provider": record.provider,
        "deployment": record.deployment,
        "route": record.route,
        "status": record.status,
        "outcome": record.outcome,
        "error_code": record.error_code,
        "cancelled": record.cancelled,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "prompt_tokens": record.prompt_tokens,
        "cached_tokens": record.cached_tokens,
        "cache_write_tokens": record.cache_write_tokens,
        "completion_tokens": record.completion_tokens,
        "reasoning_tokens": record.reasoning_tokens,
        "cost_picousd": record.cost_picousd,
        "priced": record.priced,
        "usage_reported": record.usage_reported,
        "cache": record.cache,
        "saved_picousd": record.saved_picousd,
        "tags": record.searchable_tags(),
        "caller_metadata": said,
    }
