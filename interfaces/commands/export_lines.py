"""Reading an exported audit file: its lines (a header, rows, checkpoints) in one pass each."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from domains.audit.chain import AuditRow
from domains.audit.checkpoint import Checkpoint

EXPORT = "export"
"""The key of an export's header line: {"export": {"chain", "from_seq", "to_seq"}}."""
_FIELDS = ("seq", "ts", "actor", "action", "target", "data", "prev_hash", "hash")


def read_row(line_no: int, record: Any) -> AuditRow:
    if not isinstance(record, dict) or any(name not in record for name in _FIELDS):
        raise ValueError(f"line {line_no}: not an audit row (needs {', '.join(_FIELDS)})")
    if not isinstance(record["data"], dict) or not isinstance(record["seq"], int):
        raise ValueError(f"line {line_no}: `data` must be an object and `seq` an integer")
    return AuditRow(**{name: record[name] for name in _FIELDS})


def records(handle: TextIO) -> Iterator[tuple[int, Any]]:
    for line_no, line in enumerate(handle, start=1):
        if line.strip():
            yield line_no, json.loads(line)


def is_checkpoint(record: Any) -> bool:
    return isinstance(record, dict) and "checkpoint" in record


def is_header(record: Any) -> bool:
    return isinstance(record, dict) and EXPORT in record and "seq" not in record


@dataclass
class ExportScan:
    """What one pass over the file finds besides the chain itself."""

    header: dict[str, Any] | None = None
    checkpoints: list[Checkpoint] = field(default_factory=list)
    first: AuditRow | None = None
    hash_at: dict[int, str] = field(default_factory=dict)


def read_header(line_no: int, record: dict[str, Any]) -> dict[str, Any]:
    header = record[EXPORT]
    ok = isinstance(header, dict) and all(
        isinstance(header.get(name), int) and not isinstance(header.get(name), bool)
        for name in ("from_seq", "to_seq")
    )
    if not ok or not isinstance(header.get("chain"), str | None):
        raise ValueError(f"line {line_no}: an export header needs from_seq, to_seq and chain")
    return dict(header)


def scan_export(path: str, wanted: set[int]) -> ExportScan:
    """The header, the embedded checkpoints, the first row and the hashes at `wanted` seqs."""
    scan = ExportScan()
    with open(path, encoding="utf-8") as handle:
        for line_no, record in records(handle):
            if is_header(record):
                scan.header = read_header(line_no, record)
            elif is_checkpoint(record):
                try:
                    scan.checkpoints.append(Checkpoint.from_dict(record["checkpoint"]))
                except ValueError as error:
                    raise ValueError(f"line {line_no}: {error}") from None
            else:
                row = read_row(line_no, record)
                scan.first = scan.first or row
                if row.seq in wanted:
                    scan.hash_at[row.seq] = row.hash
    return scan
