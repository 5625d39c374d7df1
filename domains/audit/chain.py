"""The hash chain: each row's hash covers its fields and the hash of the row before it.

hash = SHA-256( RFC 8785 canonical JSON of
        {"seq", "ts", "actor", "action", "target", "data", "prev_hash"} ), hex, lower case.
The genesis row (seq 1) has prev_hash = 64 zeros. `ts` is RFC 3339 UTC with microseconds and a
trailing "Z". The rules are written out for auditors in docs/audit.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domains.audit.canonical import canonical_json

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditRow:
    seq: int
    ts: str
    actor: str
    action: str
    target: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "ts": self.ts,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def format_ts(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def row_hash(
    *,
    seq: int,
    ts: str,
    actor: str,
    action: str,
    target: str,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    canonical = canonical_json(
        {
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "action": action,
            "target": target,
            "data": data,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(canonical).hexdigest()


def chain_row(
    *,
    prev: tuple[int, str] | None,
    ts: str,
    actor: str,
    action: str,
    target: str,
    data: dict[str, Any],
) -> AuditRow:
    """The next row after `prev` (its seq and hash; None for the genesis row)."""
    seq, prev_hash = (prev[0] + 1, prev[1]) if prev else (1, GENESIS_HASH)
    digest = row_hash(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        target=target,
        data=data,
        prev_hash=prev_hash,
    )
    return AuditRow(seq, ts, actor, action, target, data, prev_hash, digest)


def link_break(prev: tuple[int, str] | None, seq: int, prev_hash: str) -> str | None:
    """Why a row with this `seq` and `prev_hash` cannot follow `prev` (the seq and hash of the
    row before it; None: nothing before, so it must be the genesis row), or None if it can."""
    expected_seq, expected_prev = (prev[0] + 1, prev[1]) if prev else (1, GENESIS_HASH)
    if seq != expected_seq:
        why = "gap" if seq > expected_seq else "reorder or duplicate"
        return f"{why}: expected seq {expected_seq}, found {seq}"
    if prev_hash != expected_prev:
        return "prev_hash does not match the hash of the row before"
    return None


@dataclass(frozen=True, slots=True)
class ChainCheck:
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None


class ChainVerifier:
    """Walks rows in seq order, one at a time, so a chain of any length verifies in flat memory."""

    def __init__(self, start: tuple[int, str] | None = None) -> None:
        self._prev = start  # (seq, hash) of the row before the first one fed, if not genesis
        self.checked = 0
        self.bad: tuple[int, str] | None = None

    def feed(self, row: AuditRow) -> bool:
        if self.bad is not None:
            return False
        broken_link = link_break(self._prev, row.seq, row.prev_hash)
        if broken_link is not None:
            self.bad = (row.seq, broken_link)
        elif (
            row_hash(
                seq=row.seq,
                ts=row.ts,
                actor=row.actor,
                action=row.action,
                target=row.target,
                data=row.data,
                prev_hash=row.prev_hash,
            )
            != row.hash
        ):
            self.bad = (row.seq, "hash mismatch: the row's content was changed")
        else:
            self._prev = (row.seq, row.hash)
            self.checked += 1
            return True
        return False

    def result(self) -> ChainCheck:
        head_seq, head_hash = self._prev if self._prev else (0, GENESIS_HASH)
        if self.bad is None:
            return ChainCheck(True, self.checked, head_seq, head_hash)
        return ChainCheck(
            False,
            self.checked,
            head_seq,
            head_hash,
            first_bad_seq=self.bad[0],
            reason=self.bad[1],
        )


def verify_rows(rows: Iterable[AuditRow]) -> ChainCheck:
    verifier = ChainVerifier()
    for row in rows:
        if not verifier.feed(row):
            break
    return verifier.result()
