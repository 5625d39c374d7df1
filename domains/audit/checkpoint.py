"""Signed checkpoints of the audit chain: the record, the bytes that are signed, when one is due,
and the rules that check a chain against a set of checkpoints.

A checkpoint says "row `seq` of the chain `chain` had hash `hash` at time `ts`", signed with
Ed25519 by the key `key_id`. A chain is named by the hash of its genesis row (seq 1). The signed
bytes are the RFC 8785 canonical JSON of {"chain", "seq", "hash", "ts", "key_id"} ({"seq", "hash",
"ts", "key_id"} for a checkpoint written before checkpoints named their chain, which has no
`chain`); the signature is base64 (standard alphabet, padded). The key id
is the first 16 hex digits of SHA-256 over the raw 32-byte public key. Signing and checking a
signature are done outside the domain (see `SignatureCheck`); the rules are in docs/audit.md.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785

from domains.audit.chain import GENESIS_HASH, AuditRow, ChainVerifier

CHECKPOINT_FIELDS = ("seq", "hash", "ts", "key_id", "signature")
_HEX64 = re.compile(r"[0-9a-f]{64}")

SignatureCheck = Callable[["Checkpoint"], str | None]
"""None when the checkpoint's signature is good, else why it is not."""


def signed_payload(*, seq: int, hash: str, ts: str, key_id: str, chain: str | None) -> bytes:
    """The exact bytes a checkpoint's signature covers (`chain` None: a checkpoint written
    before checkpoints named their chain)."""
    fields: dict[str, Any] = {"seq": seq, "hash": hash, "ts": ts, "key_id": key_id}
    if chain is not None:
        fields["chain"] = chain
    return rfc8785.dumps(fields)


def key_id_of(public_key: bytes) -> str:
    """The id of a key: 16 hex digits of SHA-256 over its raw 32-byte Ed25519 public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def parse_ts(ts: str) -> datetime:
    """A row's or a checkpoint's `ts` (RFC 3339 UTC, microseconds, `Z`) as an aware datetime."""
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    ts: str
    key_id: str
    signature: str
    chain: str | None = None
    """The hash of the chain's genesis row; None on a checkpoint written before checkpoints
    named their chain."""

    def payload(self) -> bytes:
        return signed_payload(
            seq=self.seq, hash=self.hash, ts=self.ts, key_id=self.key_id, chain=self.chain
        )

    def as_dict(self) -> dict[str, Any]:
        named = {"chain": self.chain} if self.chain is not None else {}
        return named | {name: getattr(self, name) for name in CHECKPOINT_FIELDS}

    @classmethod
    def from_dict(cls, record: object) -> Checkpoint:
        """ValueError when `record` is not a checkpoint object."""
        if not isinstance(record, dict) or any(name not in record for name in CHECKPOINT_FIELDS):
            raise ValueError(f"not a checkpoint (needs {', '.join(CHECKPOINT_FIELDS)})")
        seq = record["seq"]
        if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
            raise ValueError("a checkpoint's `seq` must be an integer >= 1")
        if any(not isinstance(record[name], str) for name in CHECKPOINT_FIELDS[1:]):
            raise ValueError("a checkpoint's hash, ts, key_id and signature must be strings")
        if not _HEX64.fullmatch(record["hash"]):
            raise ValueError("a checkpoint's `hash` must be 64 lowercase hex digits")
        chain = record.get("chain")
        if chain is not None and not (isinstance(chain, str) and _HEX64.fullmatch(chain)):
            raise ValueError("a checkpoint's `chain` must be 64 lowercase hex digits")
        return cls(**{name: record[name] for name in CHECKPOINT_FIELDS}, chain=chain)


def checkpoint_due(
    *,
    anchored_seq: int,
    head_seq: int,
    oldest_unanchored_ts: str,
    now: datetime,
    every_rows: int,
    every_seconds: float,
) -> bool:
    """A new checkpoint is due once `every_rows` rows are past the newest checkpoint, or once the
    oldest of them is `every_seconds` old; never while the head has not moved."""
    if head_seq <= anchored_seq:
        return False
    if head_seq - anchored_seq >= every_rows:
        return True
    return (now - parse_ts(oldest_unanchored_ts)).total_seconds() >= every_seconds


@dataclass(frozen=True, slots=True)
class Finding:
    """A place where the chain is broken: the first bad seq and why."""

    seq: int
    reason: str


def mismatch(checkpoint: Checkpoint) -> Finding:
    return Finding(
        checkpoint.seq,
        f"hash does not match the signed checkpoint at seq {checkpoint.seq} "
        "(the chain was rewritten at or before this row)",
    )


def truncated(checkpoint: Checkpoint, head_seq: int) -> Finding:
    return Finding(
        head_seq + 1,
        f"rows missing below a checkpoint: the checkpoint at seq {checkpoint.seq} anchors rows "
        f"up to {checkpoint.seq}, the chain ends at seq {head_seq} (tail truncated)",
    )


class Anchors:
    """The checkpoints a chain is checked against: duplicates merged, each signature checked
    once (when a check is given); a bad signature or two checkpoints that disagree on the hash
    at one seq are findings, and such checkpoints anchor nothing."""

    def __init__(self, checkpoints: Iterable[Checkpoint], check: SignatureCheck | None) -> None:
        self.signatures_checked = check is not None
        self.by_seq: dict[int, Checkpoint] = {}
        self.findings: list[Finding] = []
        disputed: set[int] = set()
        for checkpoint in sorted(set(checkpoints), key=lambda c: (c.seq, c.signature)):
            why = check(checkpoint) if check is not None else None
            if why is not None:
                reason = f"bad signature on the checkpoint at seq {checkpoint.seq}: {why}"
                self.findings.append(Finding(checkpoint.seq, reason))
                continue
            known = self.by_seq.get(checkpoint.seq)
            if known is None and checkpoint.seq not in disputed:
                self.by_seq[checkpoint.seq] = checkpoint
            elif known is not None and known.hash != checkpoint.hash:
                reason = f"two checkpoints at seq {checkpoint.seq} disagree on its hash"
                self.findings.append(Finding(checkpoint.seq, reason))
                disputed.add(checkpoint.seq)
                del self.by_seq[checkpoint.seq]

    @property
    def highest(self) -> Checkpoint | None:
        return self.by_seq[max(self.by_seq)] if self.by_seq else None

    def __len__(self) -> int:
        return len(self.by_seq)


@dataclass(frozen=True, slots=True)
class AnchoredCheck:
    ok: bool
    checked: int
    """Rows whose hash was recomputed."""
    head_seq: int
    head_hash: str
    first_bad_seq: int | None = None
    reason: str | None = None
    checkpoints: int = 0
    """Checkpoints the chain was checked against (signature good, or not checked)."""
    checkpoint_seq: int | None = None
    """The newest checkpoint the chain was found to match."""
    signatures_checked: bool = False
    chain: str | None = None
    """The chain checked: the hash of its genesis row (None: no rows)."""
    notes: tuple[str, ...] = ()
    """Checkpoints that were not used, and why (another chain's)."""


class AnchoredVerifier:
    """Walks rows in seq order like `ChainVerifier`, and also checks each row that a checkpoint
    anchors against it; at the end, rows missing below the highest checkpoint are a finding.

    `start` is the (seq, hash) of the row before the first one fed, when that is not genesis
    (an export from a later seq, or an incremental check from a checkpoint)."""

    def __init__(self, anchors: Anchors, start: tuple[int, str] | None = None) -> None:
        self._anchors = anchors
        self._chain = ChainVerifier(start)
        self._good = start if start is not None else (0, GENESIS_HASH)
        self._bad: Finding | None = None
        self.checked = 0
        self.anchored_seq: int | None = None
        if start is not None:
            self._bad = self._against_anchor(start[0], start[1])

    def feed(self, row: AuditRow) -> bool:
        if self._bad is not None:
            return False
        if not self._chain.feed(row):
            assert self._chain.bad is not None
            self._bad = Finding(*self._chain.bad)
            return False
        self._bad = self._against_anchor(row.seq, row.hash)
        if self._bad is not None:
            return False
        self._good = (row.seq, row.hash)
        self.checked += 1
        return True

    def _against_anchor(self, seq: int, digest: str) -> Finding | None:
        anchor = self._anchors.by_seq.get(seq)
        if anchor is None:
            return None
        if anchor.hash != digest:
            return mismatch(anchor)
        self.anchored_seq = seq
        return None

    def result(self, more: Iterable[Finding] = ()) -> AnchoredCheck:
        """The outcome; `more` adds findings made elsewhere. The first bad seq is the lowest."""
        head_seq, head_hash = self._good
        findings = [*self._anchors.findings, *more]
        if self._bad is not None:
            findings.append(self._bad)
        else:
            highest = self._anchors.highest
            if highest is not None and highest.seq > head_seq:
                findings.append(truncated(highest, head_seq))
        first = min(findings, key=lambda finding: finding.seq, default=None)
        return AnchoredCheck(
            ok=first is None,
            checked=self.checked,
            head_seq=head_seq,
            head_hash=head_hash,
            first_bad_seq=first.seq if first else None,
            reason=first.reason if first else None,
            checkpoints=len(self._anchors),
            checkpoint_seq=self.anchored_seq,
            signatures_checked=self._anchors.signatures_checked,
        )
