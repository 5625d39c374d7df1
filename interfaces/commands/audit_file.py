"""`fluxrouter audit verify`: an exported file checked offline (no database, no config),
optionally with public keys and checkpoint files kept elsewhere.

The file's chain is named by its genesis row's hash (or, for an export from a later seq, by its
header); checkpoints of other chains are set aside with a note. The last row must be anchored by
a checkpoint, and an export's rows must run to the `to_seq` of its header: rows cut off its end
are always caught.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence
from pathlib import Path

from domains.audit.chain_binding import bind_to_chain
from domains.audit.checkpoint import AnchoredCheck, AnchoredVerifier, Anchors, Checkpoint, Finding
from infrastructure.audit.checkpoint_files import read_checkpoint_dir, read_checkpoint_file
from infrastructure.security.audit_signing import PublicKeys, read_public_key
from interfaces.commands.export_lines import (
    ExportScan,
    is_checkpoint,
    is_header,
    read_row,
    records,
    scan_export,
)


class Unreadable(Exception):
    """An input of `verify` cannot be used: exit 2."""


def _given_checkpoints(paths: Sequence[str]) -> list[Checkpoint]:
    found: list[Checkpoint] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            in_dir, failed = read_checkpoint_dir(path, chains=True)
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


def _walk(path: str, anchors: Anchors) -> tuple[AnchoredVerifier, int] | None:
    """The walk over the rows in the file, and the seq before its first row."""
    verifier: AnchoredVerifier | None = None
    start_seq = 0
    with open(path, encoding="utf-8") as handle:
        for line_no, record in records(handle):
            if is_checkpoint(record) or is_header(record):
                continue
            row = read_row(line_no, record)
            if verifier is None:  # an export may start after genesis (--from-seq)
                start = None if row.seq == 1 else (row.seq - 1, row.prev_hash)
                start_seq = row.seq - 1 if start else 0
                verifier = AnchoredVerifier(anchors, start)
            if not verifier.feed(row):
                break
    return (verifier, start_seq) if verifier is not None else None


def _chain(scan: ExportScan) -> tuple[str | None, list[Finding]]:
    """The file's chain: its genesis row's hash, else what its header says."""
    named = scan.header.get("chain") if scan.header else None
    if scan.first is None or scan.first.seq != 1:
        return named, []
    if named is not None and named != scan.first.hash:
        reason = f"the export names chain {named}, but its genesis row hashes to {scan.first.hash}"
        return scan.first.hash, [Finding(1, reason)]
    return scan.first.hash, []


def _ends(result: AnchoredCheck, scan: ExportScan, start_seq: int) -> Finding | None:
    """Where the file's rows do not run as far as the export says, or its last row is not
    anchored by a checkpoint (rows after it may have been cut off)."""
    if scan.header is not None:
        from_seq, to_seq = scan.header["from_seq"], scan.header["to_seq"]
        if start_seq + 1 != max(from_seq, 1):
            return Finding(
                min(start_seq + 1, from_seq),
                f"rows missing at the start: the export holds rows from seq {from_seq}, the "
                f"file starts at seq {start_seq + 1}",
            )
        if result.head_seq < to_seq:
            return Finding(
                result.head_seq + 1,
                f"rows missing at the end: the export holds rows up to seq {to_seq}, the file "
                f"ends at seq {result.head_seq} (its tail was cut off)",
            )
    if result.checkpoint_seq != result.head_seq:
        return Finding(
            result.head_seq + 1,
            f"the last row, seq {result.head_seq}, is not anchored by a checkpoint: an export "
            "ends with a checkpoint of its last row, so rows after it may have been cut off",
        )
    return None


def _check(
    path: str, keys: PublicKeys | None, given: list[Checkpoint]
) -> tuple[AnchoredCheck, int] | None:
    unnamed = {c.seq for c in given if c.chain is None}
    scan = scan_export(path, unnamed)
    more_unnamed = {c.seq for c in scan.checkpoints if c.chain is None} - unnamed
    if more_unnamed:  # checkpoints without a chain id embedded in the file: one more pass
        scan.hash_at |= scan_export(path, more_unnamed).hash_at
    chain, findings = _chain(scan)
    bound = bind_to_chain([*scan.checkpoints, *given], chain, scan.hash_at)
    if given and not set(given) & set(bound.own):
        findings.append(
            Finding(
                1,
                f"none of the checkpoints given with --checkpoint is of this file's chain "
                f"({chain}): the file is of another chain, or the chain was rewritten from its "
                "first row",
            )
        )
    anchors = Anchors(bound.own, keys.check if keys is not None else None)
    walked = _walk(path, anchors)
    if walked is None:
        return None
    verifier, start_seq = walked
    result = verifier.result(findings)
    if result.ok and (end := _ends(result, scan, start_seq)) is not None:
        result = dataclasses.replace(result, ok=False, first_bad_seq=end.seq, reason=end.reason)
    return dataclasses.replace(result, chain=chain, notes=tuple(bound.notes)), start_seq


def verify_file(path: str, public_keys: Sequence[str] = (), checkpoints: Sequence[str] = ()) -> int:
    """Exit 0 when the chain in the file holds (and agrees with every checkpoint of its chain,
    its last row anchored); else 1, naming the first bad seq and why; 2 when an input cannot be
    read."""
    try:
        keys = _public_keys(public_keys)
        checked = _check(path, keys, _given_checkpoints(checkpoints))
    except (OSError, ValueError, Unreadable) as error:
        print(f"fluxrouter: cannot verify {path}: {error}", file=sys.stderr)
        return 2
    if checked is None:
        print(f"fluxrouter: {path} holds no audit rows", file=sys.stderr)
        return 1
    result, start_seq = checked
    out = sys.stdout if result.ok else sys.stderr
    if result.ok:
        print(
            f"ok: {result.checked} rows verified, head seq {result.head_seq} "
            f"hash {result.head_hash}"
        )
    else:
        assert result.first_bad_seq is not None
        before = max(0, min(result.checked, result.first_bad_seq - 1 - start_seq))
        print(
            f"BROKEN at seq {result.first_bad_seq}: {result.reason} "
            f"({before} rows verified before it)",
            file=out,
        )
    print(f"chain: {result.chain or 'unknown (no genesis row, no header)'}", file=out)
    print(_checkpoint_note(result, keys), file=out)
    for note in result.notes:
        print(f"set aside: {note}", file=out)
    return 0 if result.ok else 1


def _checkpoint_note(result: AnchoredCheck, keys: PublicKeys | None) -> str:
    if result.checkpoints == 0:
        text = "checkpoints: none of this chain (give --checkpoint)"
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
