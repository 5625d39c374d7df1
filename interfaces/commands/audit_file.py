"""`fluxrouter audit export` (from the database) and `fluxrouter audit verify` (offline: a file,
no database, no config)."""

from __future__ import annotations

import json
import sys
from typing import Any

from domains.audit.chain import AuditRow, ChainVerifier
from infrastructure.db.engine import create_engine
from infrastructure.read_models.audit_query import iter_audit
from infrastructure.settings import Settings

_FIELDS = ("seq", "ts", "actor", "action", "target", "data", "prev_hash", "hash")


async def export_file(settings: Settings, out: str, from_seq: int) -> int:
    engine = create_engine(settings.database.url)
    count = 0
    try:
        with open(out, "w", encoding="utf-8") as handle:  # noqa: ASYNC230 (a CLI, one task)
            async for row in iter_audit(engine, from_seq=from_seq):
                handle.write(
                    json.dumps(row.as_dict(), separators=(",", ":"), ensure_ascii=False) + "\n"
                )
                count += 1
    finally:
        await engine.dispose()
    print(f"fluxrouter: exported {count} audit rows to {out}")
    return 0


def _row(line_no: int, record: Any) -> AuditRow:
    if not isinstance(record, dict) or any(name not in record for name in _FIELDS):
        raise ValueError(f"line {line_no}: not an audit row (needs {', '.join(_FIELDS)})")
    if not isinstance(record["data"], dict) or not isinstance(record["seq"], int):
        raise ValueError(f"line {line_no}: `data` must be an object and `seq` an integer")
    return AuditRow(**{name: record[name] for name in _FIELDS})


def verify_file(path: str) -> int:
    """Exit 0 when the chain in the file holds; else 1, naming the first bad seq and why."""
    verifier: ChainVerifier | None = None
    try:
        with open(path, encoding="utf-8") as handle:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                record = json.loads(line)
                if isinstance(record, dict) and "checkpoint" in record:
                    continue  # signed checkpoints are verified by a later version
                row = _row(line_no, record)
                if verifier is None:  # an export may start after genesis (--from-seq)
                    verifier = ChainVerifier(None if row.seq == 1 else (row.seq - 1, row.prev_hash))
                if not verifier.feed(row):
                    break
    except (OSError, ValueError) as error:
        print(f"fluxrouter: cannot verify {path}: {error}", file=sys.stderr)
        return 2
    if verifier is None:
        print(f"fluxrouter: {path} holds no audit rows", file=sys.stderr)
        return 1
    result = verifier.result()
    if result.ok:
        print(
            f"ok: {result.checked} rows verified, head seq {result.head_seq} "
            f"hash {result.head_hash}"
        )
        return 0
    print(
        f"BROKEN at seq {result.first_bad_seq}: {result.reason} "
        f"({result.checked} rows verified before it)",
        file=sys.stderr,
    )
    return 1
