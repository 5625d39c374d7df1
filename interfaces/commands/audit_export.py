"""`fluxrouter audit export` (from the database, with this chain's checkpoints, ending with a
checkpoint of its own last row), `audit checkpoint` and `audit public-key`: the audit commands
that need the configuration.

An export is one JSON object a line: a header `{"export": {"chain", "from_seq", "to_seq"}}`, then
the rows from `from_seq` to `to_seq`, each followed by the checkpoints that anchor it. `to_seq` is
the seq of the newest checkpoint: one is signed now when the head has moved past it, so the last
row of an export is always anchored and `audit verify` catches any row cut off its end.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from infrastructure.settings import Settings
from interfaces.commands.export_lines import EXPORT

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from application.audit.checkpoints import CheckpointOutcome
    from domains.audit.checkpoint import Checkpoint


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


def export_file(settings: Settings, out: str, from_seq: int) -> int:
    """The rows from `from_seq` up to the newest checkpoint (signed now if the head has moved),
    each followed by the checkpoints of this chain that anchor it. 1 when the chain is broken:
    every row is exported, but its tail cannot be anchored; 2 without the signing key."""
    if not Path(settings.audit.signing_key_file).is_file():  # never sign with a new key here
        print(
            f"fluxrouter: cannot export: audit.signing_key_file "
            f"{settings.audit.signing_key_file} does not exist; an export ends with a checkpoint "
            "signed by the gateway's key: run it with the gateway's configuration and key",
            file=sys.stderr,
        )
        return 2
    return asyncio.run(_export(settings, out, from_seq))


async def _export(settings: Settings, out: str, from_seq: int) -> int:
    from infrastructure.audit.verification import chain_checkpoints
    from infrastructure.db.engine import create_engine
    from infrastructure.queries.audit_verify import audit_head
    from interfaces.audit_wiring import checkpointer_for, load_signing_key

    key, _ = load_signing_key(settings)
    engine = create_engine(settings.database.url)
    try:
        checkpointer = checkpointer_for(settings, engine, key)
        outcome = await checkpointer.checkpoint()
        found = await chain_checkpoints(engine, checkpointer.directory)
        for finding in found.findings:
            print(f"fluxrouter: warning: {finding.reason}", file=sys.stderr)
        for note in found.notes:
            print(f"fluxrouter: note: {note}", file=sys.stderr)
        head = await audit_head(engine)
        head_seq = head[0] if head else 0
        anchors = [c for c in found.checkpoints if c.seq <= head_seq]
        to_seq = max((c.seq for c in anchors), default=0)
        if outcome.broken is not None:  # export it all as evidence; nothing anchors the tail
            to_seq, anchors = head_seq, found.checkpoints
        header = {"chain": found.chain, "from_seq": from_seq, "to_seq": to_seq}
        rows, written = await _write(engine, out, header, anchors)
    finally:
        await engine.dispose()
    return _report(out, rows, written, to_seq, outcome)


async def _write(
    engine: AsyncEngine, out: str, header: dict[str, Any], anchors: list[Checkpoint]
) -> tuple[int, int]:
    from infrastructure.queries.audit import iter_audit

    from_seq, to_seq = header["from_seq"], header["to_seq"]
    pending = sorted(
        {checkpoint for checkpoint in anchors if checkpoint.seq >= from_seq - 1},
        key=lambda checkpoint: (checkpoint.seq, checkpoint.signature),
    )
    rows = written = 0
    with open(out, "w", encoding="utf-8") as handle:  # noqa: ASYNC230 (a CLI, one task)

        def flush(upto: int) -> int:
            count = 0
            while pending and pending[0].seq <= upto:
                handle.write(_line({"checkpoint": pending.pop(0).as_dict()}))
                count += 1
            return count

        handle.write(_line({EXPORT: header}))
        if to_seq >= from_seq:
            async for row in iter_audit(engine, from_seq=from_seq, to_seq=to_seq):
                written += flush(row.seq - 1)
                handle.write(_line(row.as_dict()))
                rows += 1
                written += flush(row.seq)
        written += flush(2**63)
    return rows, written


def _report(out: str, rows: int, written: int, to_seq: int, outcome: CheckpointOutcome) -> int:
    print(f"fluxrouter: exported {rows} audit rows and {written} checkpoints to {out}")
    if outcome.broken is not None:
        print(
            f"fluxrouter: the audit chain is BROKEN at seq {outcome.broken.seq}: "
            f"{outcome.broken.reason}; no checkpoint was signed, so the export's tail is not "
            "anchored",
            file=sys.stderr,
        )
        return 1
    if rows:
        signed = " (signed now)" if outcome.made is not None else ""
        print(f"fluxrouter: the last row is anchored by the checkpoint at seq {to_seq}{signed}")
    return 0


async def checkpoint_now(settings: Settings) -> int:
    """Sign a checkpoint of the head now; 1 when the chain is broken (nothing is signed)."""
    from infrastructure.db.engine import create_engine
    from interfaces.audit_wiring import checkpointer_for, load_signing_key

    key, generated = load_signing_key(settings)
    if generated:
        _generated_note(settings, key.key_id)
    engine = create_engine(settings.database.url)
    try:
        checkpointer = checkpointer_for(settings, engine, key)
        outcome = await checkpointer.checkpoint()
    finally:
        await engine.dispose()
    if outcome.made is not None:
        made = outcome.made
        print(
            f"fluxrouter: checkpoint at seq {made.seq} hash {made.hash}, signed by key "
            f"{made.key_id}, stored in the database and in "
            f"{checkpointer.directory.of_chain(made.chain)}"
        )
        return 0
    if outcome.broken is not None:
        print(
            f"fluxrouter: no checkpoint signed: the audit chain is BROKEN at seq "
            f"{outcome.broken.seq}: {outcome.broken.reason}",
            file=sys.stderr,
        )
        return 1
    print(f"fluxrouter: no checkpoint needed: {outcome.skipped}")
    return 0


def print_public_key(settings: Settings, fmt: str) -> int:
    from interfaces.audit_wiring import load_signing_key

    key, generated = load_signing_key(settings)
    if generated:
        _generated_note(settings, key.key_id)
    print(key.public_pem().rstrip("\n") if fmt == "pem" else key.public_base64())
    return 0


def _generated_note(settings: Settings, key_id: str) -> None:
    print(
        f"fluxrouter: generated the audit signing key {settings.audit.signing_key_file} "
        f"(key id {key_id})",
        file=sys.stderr,
    )
