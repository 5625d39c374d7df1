"""The request log's exports: CSV (a header row, then one row a record) and JSON Lines (one
object a record), streamed a batch of records at a time."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import msgspec

from infrastructure.queries.request_log import FIELDS, RequestRow

Format = Literal["json", "csv", "jsonl"]

MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "jsonl": "application/x-ndjson",
}
_ACCEPTED: dict[str, Format] = {
    "text/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/x-jsonlines": "jsonl",
}
_BATCH = 500
_encoder = msgspec.json.Encoder()


def format_of(asked: Format | None, accept: str | None) -> Format:
    """`asked` (`?format=`) if given, else the first export type `accept` names, else JSON."""
    if asked is not None:
        return asked
    for part in (accept or "").split(","):
        found = _ACCEPTED.get(part.split(";", 1)[0].strip().lower())
        if found is not None:
            return found
    return "json"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return _encoder.encode(value).decode()
    return str(value)


def _csv_lines(rows: Sequence[Sequence[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(rows)
    return out.getvalue().encode()


async def csv_chunks(
    rows: AsyncIterator[RequestRow], *, bodies: bool = False
) -> AsyncIterator[bytes]:
    """`bodies`: a last column of each record's kept bodies (JSON; empty when none)."""
    fields = (*FIELDS, "bodies") if bodies else FIELDS
    yield _csv_lines([list(fields)])
    batch: list[list[str]] = []
    async for row in rows:
        values = row.values
        batch.append([_cell(values[name]) for name in fields])
        if len(batch) == _BATCH:
            yield _csv_lines(batch)
            batch = []
    if batch:
        yield _csv_lines(batch)


async def jsonl_chunks(rows: AsyncIterator[RequestRow]) -> AsyncIterator[bytes]:
    batch: list[bytes] = []
    async for row in rows:
        batch.append(_encoder.encode(row.values))
        if len(batch) == _BATCH:
            yield b"\n".join(batch) + b"\n"
            batch = []
    if batch:
        yield b"\n".join(batch) + b"\n"
