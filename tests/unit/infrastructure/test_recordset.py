"""The recordset insert: a statement whose text comes from the table alone, and its one JSON
parameter, with UTC times made naive and bytes in base64."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table

from infrastructure.db.recordset import as_recordset, recordset_insert
from infrastructure.db.types import UtcDateTime

TABLE = Table(
    "things",
    MetaData(),
    Column("id", String(32), primary_key=True),
    Column("at", UtcDateTime()),
    Column("blob", LargeBinary()),
    Column("n", Integer()),
)


def test_the_statement_names_the_columns_and_their_types_from_the_table() -> None:
    statement = recordset_insert(TABLE, ["id", "n", "blob"]).text
    assert statement.startswith("INSERT INTO things (id, n, blob) SELECT r.id, r.n, ")
    assert "decode(r.blob, 'base64')" in statement
    assert statement.endswith(
        "FROM json_to_recordset(CAST(:rows AS json)) AS r(id VARCHAR(32), n INTEGER, blob text)"
    )


def test_rows_travel_as_one_json_array_with_utc_times_and_base64_bytes() -> None:
    at = datetime(2026, 11, 24, 5, 30, tzinfo=timezone(timedelta(hours=2)))
    utc = datetime(2026, 11, 24, 5, 30, 0, 250, tzinfo=UTC)
    row = {"id": "a", "at": at, "blob": b"\x00\xff", "n": 2**40}
    params = as_recordset(TABLE, [row, {"id": "b", "at": utc, "blob": None, "n": None}])
    assert json.loads(params["rows"]) == [
        {"id": "a", "at": "2026-11-24T03:30:00Z", "blob": "AP8=", "n": 2**40},
        {"id": "b", "at": "2026-11-24T05:30:00.000250Z", "blob": None, "n": None},
    ]
    assert row["blob"] == b"\x00\xff"  # the caller's rows are left as they were
    with pytest.raises(ValueError, match="naive datetime"):
        as_recordset(TABLE, [{"id": "b", "at": datetime(2026, 1, 1), "blob": None, "n": 1}])
    assert as_recordset(TABLE, []) == {"rows": "[]"}
