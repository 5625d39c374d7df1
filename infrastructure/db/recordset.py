"""A batch of rows as one PostgreSQL INSERT … SELECT FROM json_to_recordset(:rows).

The statement's text is the same whatever the batch's size, so the driver prepares it once, and
it is one statement with one parameter: the rows as one JSON array, encoded by msgspec (in C).
An executemany is a round of messages a row (in psycopg's pipeline, most of the CPU an insert of
a few rows costs), and `unnest` of one array a column has psycopg escape every quote of every
text element in Python. Rows are inserted in the order given. Timestamps of `UtcDateTime`
columns travel in UTC, read by PostgreSQL as the naive UTC that type stores; bytes travel as
base64.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import LargeBinary, Table, TextClause, text
from sqlalchemy.dialects import postgresql

from infrastructure.db.types import UtcDateTime

_DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


def recordset_insert(table: Table, names: Sequence[str], *, then: str = "") -> TextClause:
    """INSERT INTO table (names) SELECT … FROM json_to_recordset(:rows) AS r(name type, …), and
    `then` (an ON CONFLICT or RETURNING clause of fixed text) after it."""
    declared, selected = [], []
    for name in names:
        column = table.c[name]
        if isinstance(column.type, LargeBinary):
            declared.append(f"{name} text")
            selected.append(f"decode(r.{name}, 'base64')")
        else:
            declared.append(f"{name} {column.type.compile(dialect=_DIALECT)}")
            selected.append(f"r.{name}")
    statement = (  # names and types from the table's definition, never from input
        f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(selected)}"  # noqa: S608
        f" FROM json_to_recordset(CAST(:rows AS json)) AS r({', '.join(declared)})"
        + (f" {then}" if then else "")
    )
    return text(statement)


def as_recordset(table: Table, rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The parameters of `recordset_insert`'s statement for these rows (each with the same
    names); only the values of the columns that need converting are copied."""
    converters = [
        (name, convert)
        for name in (rows[0] if rows else ())
        if (convert := _converter(table.c[name].type)) is not None
    ]
    plain: Sequence[Mapping[str, Any]] = rows
    if converters:
        plain = [_converted(row, converters) for row in rows]
    return {"rows": msgspec.json.encode(plain).decode()}


def _converted(
    row: Mapping[str, Any], converters: list[tuple[str, Callable[[Any], Any]]]
) -> dict[str, Any]:
    copy = dict(row)
    for name, convert in converters:
        copy[name] = convert(copy[name])
    return copy


def _converter(type_: Any) -> Callable[[Any], Any] | None:
    if isinstance(type_, UtcDateTime):
        return _utc
    if isinstance(type_, LargeBinary):
        return _base64
    return None


def _base64(value: bytes | None) -> str | None:
    return None if value is None else base64.b64encode(value).decode()


def _utc(value: datetime | None) -> datetime | None:
    """A UTC time as is: msgspec writes it with a "Z", which PostgreSQL's `timestamp` (without
    time zone) ignores, reading the wall time; another offset is converted to UTC first."""
    if value is None:
        return None
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime given for a UTC column")
    return value if not offset else value.astimezone(UTC)
