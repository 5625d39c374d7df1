"""`fluxrouter audit export` (from the database, with the checkpoints), `audit checkpoint` and
`audit public-key` (with the config), and `audit verify` (offline: a file, no database, no
config; optionally a public key and checkpoint files)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from domains.audit.chain import AuditRow
from domains.audit.checkpoint import AnchoredCheck, AnchoredVerifier, Anchors, Checkpoint
from infrastructure.audit.checkpoint_files import (
    CheckpointDirectory,
    read_checkpoint_dir,
    read_checkpoint_file,
)
from infrastructure.security.audit_signing import PublicKeys, read_public_key
from infrastructure.settings import Settings

_FIELDS = ("seq", "ts", "actor", "action", "target", "data", "prev_hash", "hash")


def _line(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n"


async def export_file(settings: Settings, out: str, from_seq: int) -> int:
    """The rows from `from_seq`, each followed by the checkpoints that anchor it (those of the
    database and of the checkpoint directory); checkpoints above the last row come last."""
    from infrastructure.audit.verification import all_checkpoints
    from infrastructure.db.engine import create_engine
    from infrastructure.read_models.audit_query import iter_audit

    engine = create_engine(settings.database.url)
    rows = written = 0
    try:
        found, unreadable = await all_checkpoints(
            engine, CheckpointDirectory(settings.audit.checkpoint_dir)
        )
        for finding in unreadable:
            print(f"fluxrouter: warning: {finding.reason}", file=sys.stderr)
        pending = sorted(
            {checkpoint for checkpoint in found if checkpoint.seq >= from_seq - 1},
            key=lambda checkpoint: (checkpoint.seq, checkpoint.signature),
        )
        with open(out, "w", encoding="utf-8") as handle:  # noqa: ASYNC230 (a CLI, one task)

            def flush(upto: int) -> int:
                count = 0
                while pending and pending[0].seq <= upto:
                    handle.write(_line({"checkpoint": pending.pop(0).as_dict()}))
                    count += 1
                return count

            async for row in iter_audit(engine, from_seq=from_seq):
                written += flush(row.seq - 1)
                handle.write(_line(row.as_dict()))
                rows += 1
                written += flush(row.seq)
            written += flush(2**63)
    finally:
        await engine.dispose()
    print(f"fluxrouter: exported {rows} audit rows and {written} checkpoints to {out}")
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
        outcome = await checkpointer_for(settings, engine, key).checkpoint()
    finally:
        await engine.dispose()
    if outcome.made is not None:
        made = outcome.made
        print(
            f"fluxrouter: checkpoint at seq {made.seq} hash {made.hash}, signed by key "
            f"{made.key_id}, stored in the database and in {settings.audit.checkpoint_dir}"
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


# --- offline verification --------------------------------------------------------------------


class Unreadable(Exception):
    """An input of `verify` cannot be used: exit 2."""


def _row(line_no: int, record: Any) -> AuditRow:
    if not isinstance(record, dict) or any(name not in record for name in _FIELDS):
        raise ValueError(f"line {line_no}: not an audit row (needs {', '.join(_FIELDS)})")
    if not isinstance(record["data"], dict) or not isinstance(record["seq"], int):
        raise ValueError(f"line {line_no}: `data` must be an object and `seq` an integer")
    return AuditRow(**{name: record[name] for name in _FIELDS})


def _records(handle: TextIO) -> Any:
    for line_no, line in enumerate(handle, start=1):
        if line.strip():
            yield line_no, json.loads(line)


def _is_checkpoint(record: Any) -> bool:
    return isinstance(record, dict) and "checkpoint" in record


def _embedded_checkpoints(path: str) -> list[Checkpoint]:
    found: list[Checkpoint] = []
    with open(path, encoding="utf-8") as handle:
        for line_no, record in _records(handle):
            if _is_checkpoint(record):
                try:
                    found.append(Checkpoint.from_dict(record["checkpoint"]))
                except ValueError as error:
                    raise ValueError(f"line {line_no}: {error}") from None
    return found


def _given_checkpoints(paths: Sequence[str]) -> list[Checkpoint]:
    found: list[Checkpoint] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            in_dir, failed = read_checkpoint_dir(path)
            if failed:
                bad, why = failed[0]
                raise Unreadable(f"checkpoint file {bad}: {why}")
            if not in_dir:
                raise Unreadable(f"no checkpoint files (*.json) in {path}")
            found += in_dir
        else:
            try:
                found += read_checkpoint_file(path)
            except (OSError, ValueError) as error:
                raise Unreadable(f"checkpoint file {path}: {error}") from None
    return found


def _public_keys(given: Sequence[str]) -> PublicKeys | None:
    if not given:
        return None
    keys = []
    for key in given:
        try:
            keys.append(read_public_key(key))
        except (OSError, ValueError) as error:
            shown = key if len(key) < 100 and "\n" not in key else "(the key given)"
            raise Unreadable(f"public key {shown}: {error}") from None
    return PublicKeys(keys)


def _walk(path: str, anchors: Anchors) -> tuple[AnchoredCheck, int] | None:
    """The check of the rows in the file, and the seq before its first row."""
    verifier: AnchoredVerifier | None = None
    start_seq = 0
    with open(path, encoding="utf-8") as handle:
        for line_no, record in _records(handle):
            if _is_checkpoint(record):
                continue
            row = _row(line_no, record)
            if verifier is None:  # an export may start after genesis (--from-seq)
                start = None if row.seq == 1 else (row.seq - 1, row.prev_hash)
                start_seq = row.seq - 1 if start else 0
                verifier = AnchoredVerifier(anchors, start)
            if not verifier.feed(row):
                break
    return (verifier.result(), start_seq) if verifier is not None else None


def verify_file(path: str, public_keys: Sequence[str] = (), checkpoints: Sequence[str] = ()) -> int:
    """Exit 0 when the chain in the file holds (and agrees with every checkpoint); else 1,
    naming the first bad seq and why; 2 when an input cannot be read."""
    try:
        keys = _public_keys(public_keys)
        given = _given_checkpoints(checkpoints)
        anchors = Anchors(
            [*_embedded_checkpoints(path), *given], keys.check if keys is not None else None
        )
        walked = _walk(path, anchors)
    except (OSError, ValueError, Unreadable) as error:
        print(f"fluxrouter: cannot verify {path}: {error}", file=sys.stderr)
        return 2
    if walked is None:
        print(f"fluxrouter: {path} holds no audit rows", file=sys.stderr)
        return 1
    result, start_seq = walked
    note = _checkpoint_note(result, keys)
    if result.ok:
        print(
            f"ok: {result.checked} rows verified, head seq {result.head_seq} "
            f"hash {result.head_hash}"
        )
        print(note)
        return 0
    assert result.first_bad_seq is not None
    before = max(0, min(result.checked, result.first_bad_seq - 1 - start_seq))
    print(
        f"BROKEN at seq {result.first_bad_seq}: {result.reason} ({before} rows verified before it)",
        file=sys.stderr,
    )
    print(note, file=sys.stderr)
    return 1


def _checkpoint_note(result: AnchoredCheck, keys: PublicKeys | None) -> str:
    if result.checkpoints == 0:
        text = (
            "checkpoints: none; a truncated tail or a rewrite of the whole chain cannot be "
            "detected without them (give --checkpoint)"
        )
    else:
        newest = (
            f", the newest matching at seq {result.checkpoint_seq}"
            if result.checkpoint_seq is not None
            else ""
        )
        text = f"checkpoints: {result.checkpoints}{newest}"
    if keys is None:
        return text + "; signatures NOT checked (give --public-key)"
    return text + f"; signatures checked with key {', '.join(keys.key_ids)}"
