"""`fluxrouter orgs|teams|keys list|show`: the directory read straight from the database.

`list` prints a table (`--json`: one JSON object a line, as the admin API answers them);
`show` prints one record's fields, `name: value` a line as `keys create` does (`--json`: the
object). Never a key's secret or hash: the database holds only the hash, and it is not read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.db.engine import create_engine
from infrastructure.queries import directory
from infrastructure.queries.directory_pages import KeyFilter, keys_page, orgs_page, teams_page
from infrastructure.settings import Settings
from interfaces.http.admin.directory_answers import key_out, org_out, team_out

PAGE = 200
Page = Callable[[str | None], Awaitable[Sequence[Any]]]
COLUMNS: dict[str, tuple[str, ...]] = {
    "orgs": ("id", "name", "created_at", "deleted_at"),
    "teams": ("id", "org_id", "name", "created_at", "deleted_at"),
    "keys": ("id", "prefix", "name", "team_id", "user_id", "state", "created_at"),
}


async def _every(page: Page) -> AsyncIterator[Any]:
    after: str | None = None
    while True:
        rows = await page(after)
        for row in rows:
            yield row
        if len(rows) < PAGE:
            return
        after = rows[-1].id


def _state(key: dict[str, Any]) -> str:
    if key["revoked_at"] is not None:
        return "revoked"
    return "active" if key["active"] else "expired"


def _text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, (dict, list)):
        return msgspec.json.encode(value).decode()
    return str(value)


def _table(kind: str, records: list[dict[str, Any]]) -> str:
    columns = COLUMNS[kind]
    cells = [[column.upper() for column in columns]]
    cells += [[_text(record.get(column)) for column in columns] for record in records]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def _record(kind: str, row: Any) -> dict[str, Any]:
    answer: msgspec.Struct = (
        org_out(row) if kind == "orgs" else team_out(row) if kind == "teams" else key_out(row)
    )
    record: dict[str, Any] = msgspec.structs.asdict(answer)
    if kind == "keys":
        record["state"] = _state(record)
    return record


async def _list(args: argparse.Namespace, engine: AsyncEngine) -> int:
    kind: str = args.command
    deleted = bool(getattr(args, "include_deleted", False))

    async def page(after: str | None) -> Sequence[Any]:
        if kind == "orgs":
            return await orgs_page(
                engine, org_id=None, after_id=after, limit=PAGE, include_deleted=deleted
            )
        if kind == "teams":
            return await teams_page(
                engine, org_id=args.org, after_id=after, limit=PAGE, include_deleted=deleted
            )
        which = KeyFilter(team_id=args.team, user_id=args.user)
        return await keys_page(engine, which, after_id=after, limit=PAGE)

    records = [_record(kind, row) async for row in _every(page)]
    if args.json:
        for record in records:
            sys.stdout.write(msgspec.json.encode(record).decode() + "\n")
    else:
        print(_table(kind, records))
    return 0


async def _show(args: argparse.Namespace, engine: AsyncEngine) -> int:
    kind: str = args.command
    lookup = {"orgs": directory.org_by_id, "teams": directory.team_by_id}.get(
        kind, directory.key_by_id
    )
    row = await lookup(engine, args.id)
    if row is None:
        print(f"fluxrouter: there is no such {kind[:-1]}: {args.id}", file=sys.stderr)
        return 1
    record = _record(kind, row)
    if args.json:
        print(msgspec.json.encode(record).decode())
        return 0
    width = max(len(name) for name in record) + 1
    for name, value in record.items():
        print(f"{name + ':':<{width}} {_text(value)}")
    return 0


async def read_directory(args: argparse.Namespace, settings: Settings) -> int:
    """`orgs|teams|keys list|show`; 1 when the record or the database can't be read."""
    engine = create_engine(settings.database.url, pool_size=1)
    verb = getattr(args, f"{args.command}_command")
    try:
        return await (_list if verb == "list" else _show)(args, engine)
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or type(error).__name__).splitlines()[0]
        print(
            f"fluxrouter: cannot read the database ({reason}); is it migrated "
            "(`fluxrouter migrate`)?",
            file=sys.stderr,
        )
        return 1
    finally:
        await engine.dispose()
