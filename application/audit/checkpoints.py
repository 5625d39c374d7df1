"""Making a signed checkpoint of the audit chain: verify what is not yet anchored, sign the head,
store it in the database and in the archive outside it.

A checkpoint names its chain (the hash of the genesis row) and is only signed over a chain that
holds: the newest earlier checkpoint of this chain (the database's or the archive's, whichever is
higher, and signed by this key) must still match its row, and every row after it must chain up to
the head. Otherwise nothing is signed and the outcome says where the chain is broken. A
checkpoint of another chain found in the archive (another database's) is set aside with a note:
it says nothing about this chain, and signing goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domains.audit.chain import ChainVerifier, format_ts
from domains.audit.chain_binding import stored_for_another_chain
from domains.audit.checkpoint import (
    Checkpoint,
    Finding,
    checkpoint_due,
    mismatch,
    signed_payload,
    truncated,
)
from domains.audit.ports import CheckpointArchive, CheckpointLog, CheckpointSigner


@dataclass(frozen=True, slots=True)
class Cadence:
    every_rows: int
    every_seconds: float


@dataclass(frozen=True, slots=True)
class CheckpointOutcome:
    made: Checkpoint | None = None
    skipped: str | None = None
    """Why none was made although the chain holds (empty, head not moved, not due, raced)."""
    broken: Finding | None = None
    """Where the chain is broken: nothing was signed."""
    set_aside: Checkpoint | None = None
    """The archive's newest checkpoint, when it is of another chain (and so not used)."""


async def make_checkpoint(
    log: CheckpointLog,
    signer: CheckpointSigner,
    archive: CheckpointArchive,
    *,
    now: datetime,
    cadence: Cadence | None = None,
) -> CheckpointOutcome:
    """Sign the head when it has moved (and, given a cadence, when a checkpoint is due)."""
    head = await log.head()
    genesis = await log.row_at(1) if head is not None else None
    if head is not None and genesis is None:
        return CheckpointOutcome(broken=Finding(1, "the genesis row (seq 1) is missing"))
    chain = genesis.hash if genesis is not None else None
    stored = await log.latest()
    if stored is not None and None not in (stored.chain, chain) and stored.chain != chain:
        return CheckpointOutcome(broken=stored_for_another_chain(stored, chain))
    kept = await archive.latest(chain) if chain is not None else None
    set_aside = kept if kept is not None and kept.chain != chain else None
    base = _newest(stored, kept if set_aside is None else None)
    if base is not None:
        why = signer.check(base)
        if why is not None:
            reason = f"bad signature on the newest checkpoint, at seq {base.seq}: {why}"
            return CheckpointOutcome(broken=Finding(base.seq, reason))
        if head is None or base.seq > head[0]:
            return CheckpointOutcome(broken=truncated(base, head[0] if head else 0))
        anchored = await log.row_at(base.seq)
        if anchored is None or anchored.hash != base.hash:
            return CheckpointOutcome(broken=mismatch(base))
    if head is None or chain is None:
        return CheckpointOutcome(skipped="the audit log is empty")
    anchored_seq = base.seq if base else 0
    if head[0] == anchored_seq:
        skipped = f"no new rows since the checkpoint at seq {anchored_seq}"
        return CheckpointOutcome(skipped=skipped, set_aside=set_aside)
    if cadence is not None:
        oldest = await log.row_at(anchored_seq + 1)
        due = oldest is not None and checkpoint_due(
            anchored_seq=anchored_seq,
            head_seq=head[0],
            oldest_unanchored_ts=oldest.ts,
            now=now,
            every_rows=cadence.every_rows,
            every_seconds=cadence.every_seconds,
        )
        if not due:
            return CheckpointOutcome(skipped="not due yet", set_aside=set_aside)
    verifier = ChainVerifier((base.seq, base.hash) if base else None)
    async for row in log.rows(anchored_seq + 1, head[0]):
        if not verifier.feed(row):
            break
    check = verifier.result()
    if not check.ok:
        assert check.first_bad_seq is not None
        assert check.reason is not None
        return CheckpointOutcome(broken=Finding(check.first_bad_seq, check.reason))
    if (check.head_seq, check.head_hash) != head:
        reason = f"rows missing: the chain ends at seq {check.head_seq}, its head is {head[0]}"
        return CheckpointOutcome(broken=Finding(check.head_seq + 1, reason))
    ts = format_ts(now)
    payload = signed_payload(seq=head[0], hash=head[1], ts=ts, key_id=signer.key_id, chain=chain)
    signature = signer.sign(payload)
    checkpoint = Checkpoint(head[0], head[1], ts, signer.key_id, signature, chain=chain)
    if not await log.add(checkpoint, archive.write):
        skipped = "another process is making the checkpoint"
        return CheckpointOutcome(skipped=skipped, set_aside=set_aside)
    return CheckpointOutcome(made=checkpoint, set_aside=set_aside)


def _newest(*checkpoints: Checkpoint | None) -> Checkpoint | None:
    known = [checkpoint for checkpoint in checkpoints if checkpoint is not None]
    return max(known, key=lambda checkpoint: checkpoint.seq, default=None)
