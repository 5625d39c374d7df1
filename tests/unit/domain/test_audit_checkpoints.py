"""Signed checkpoints: the signed bytes, the record, when one is due, and what a chain checked
against checkpoints catches (and at which seq). Signatures are made with a real Ed25519 key."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.audit.chain import AuditRow, chain_row, format_ts
from domains.audit.chain_binding import bind_to_chain
from domains.audit.checkpoint import (
    AnchoredVerifier,
    Anchors,
    Checkpoint,
    checkpoint_due,
    key_id_of,
    parse_ts,
    signed_payload,
)
from infrastructure.security.audit_signing import PublicKeys, SigningKey, raw_public_key

T0 = datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
KEY = SigningKey(Ed25519PrivateKey.generate())
OTHER_KEY = SigningKey(Ed25519PrivateKey.generate())


def build_chain(count: int, *, salt: str = "") -> list[AuditRow]:
    rows: list[AuditRow] = []
    prev: tuple[int, str] | None = None
    for i in range(count):
        row = chain_row(
            prev=prev,
            ts=format_ts(T0 + timedelta(seconds=i)),
            actor="admin",
            action="org.create",
            target=f"org:{i}",
            data={"name": f"org-{i}{salt}"},
        )
        rows.append(row)
        prev = (row.seq, row.hash)
    return rows


CHAIN = build_chain(1)[0].hash
"""The chain `build_chain` makes (unsalted): its genesis row's hash."""


def sign(
    row: AuditRow, key: SigningKey = KEY, ts: str | None = None, chain: str | None = CHAIN
) -> Checkpoint:
    when = ts or format_ts(T0 + timedelta(hours=1, seconds=row.seq))
    payload = signed_payload(seq=row.seq, hash=row.hash, ts=when, key_id=key.key_id, chain=chain)
    return Checkpoint(row.seq, row.hash, when, key.key_id, key.sign(payload), chain=chain)


# --- the record and its signature ------------------------------------------------------------


def test_the_signed_bytes_are_rfc8785_of_chain_seq_hash_ts_and_key_id() -> None:
    ts = "2025-01-01T00:00:00.000000Z"
    payload = signed_payload(seq=7, hash="ab" * 32, ts=ts, key_id="k", chain="cd" * 32)
    assert payload == rfc8785.dumps(
        {"chain": "cd" * 32, "seq": 7, "hash": "ab" * 32, "ts": ts, "key_id": "k"}
    )
    assert payload == (
        b'{"chain":"' + b"cd" * 32 + b'","hash":"' + b"ab" * 32 + b'","key_id":"k","seq":7,'
        b'"ts":"2025-01-01T00:00:00.000000Z"}'
    )
    # a checkpoint written before checkpoints named their chain
    legacy = signed_payload(seq=7, hash="ab" * 32, ts=ts, key_id="k", chain=None)
    assert legacy == (
        b'{"hash":"' + b"ab" * 32 + b'","key_id":"k","seq":7,"ts":"2025-01-01T00:00:00.000000Z"}'
    )


def test_the_key_id_is_16_hex_digits_of_sha256_of_the_raw_public_key() -> None:
    raw = raw_public_key(KEY.public_key)
    assert len(raw) == 32
    assert KEY.key_id == key_id_of(raw) == hashlib.sha256(raw).hexdigest()[:16]
    assert KEY.key_id != OTHER_KEY.key_id


def test_a_signature_is_base64_ed25519_over_the_payload() -> None:
    checkpoint = sign(build_chain(3)[-1])
    signature = base64.b64decode(checkpoint.signature, validate=True)
    assert len(signature) == 64
    KEY.public_key.verify(signature, checkpoint.payload())  # raises if it does not verify
    assert KEY.check(checkpoint) is None
    assert PublicKeys([OTHER_KEY.public_key, KEY.public_key]).check(checkpoint) is None


@pytest.mark.parametrize(
    "change",
    [
        {"seq": 4},
        {"hash": "0" * 64},
        {"ts": "2030-01-01T00:00:00.000000Z"},
        {"signature": base64.b64encode(b"\x01" * 64).decode()},
        {"signature": "not base64!"},
        {"chain": "f" * 64},  # the chain is signed: a checkpoint cannot be moved to another
        {"chain": None},
    ],
)
def test_any_change_to_a_checkpoint_breaks_its_signature(change: dict[str, Any]) -> None:
    checkpoint = dataclasses.replace(sign(build_chain(3)[-1]), **change)
    assert KEY.check(checkpoint) == "the signature does not verify"


def test_a_checkpoint_of_another_key_is_named_by_its_key_id() -> None:
    checkpoint = sign(build_chain(2)[-1], OTHER_KEY)
    why = KEY.check(checkpoint)
    assert why is not None
    assert OTHER_KEY.key_id in why
    assert KEY.key_id in why
    relabelled = dataclasses.replace(checkpoint, key_id=KEY.key_id)
    assert KEY.check(relabelled) == "the signature does not verify"


def test_a_checkpoint_round_trips_through_its_dict() -> None:
    checkpoint = sign(build_chain(2)[-1])
    assert checkpoint.as_dict() == {
        "chain": CHAIN,
        "seq": 2,
        "hash": checkpoint.hash,
        "ts": checkpoint.ts,
        "key_id": KEY.key_id,
        "signature": checkpoint.signature,
    }
    assert Checkpoint.from_dict(checkpoint.as_dict()) == checkpoint
    legacy = sign(build_chain(2)[-1], chain=None)
    assert "chain" not in legacy.as_dict()
    assert Checkpoint.from_dict(legacy.as_dict()) == legacy


@pytest.mark.parametrize(
    "change",
    [
        {"seq": "2"},
        {"seq": True},
        {"seq": 0},
        {"hash": "ABC"},
        {"hash": "A" * 64},
        {"ts": 5},
        {"signature": None},
        {"chain": "abc"},
        {"chain": 7},
    ],
)
def test_a_malformed_checkpoint_is_refused(change: dict[str, Any]) -> None:
    record = {**sign(build_chain(2)[-1]).as_dict(), **change}
    with pytest.raises(ValueError, match="checkpoint"):
        Checkpoint.from_dict(record)


@pytest.mark.parametrize("record", [None, [], {"seq": 1}, "checkpoint"])
def test_something_else_is_not_a_checkpoint(record: object) -> None:
    with pytest.raises(ValueError, match="not a checkpoint"):
        Checkpoint.from_dict(record)


# --- when one is due -------------------------------------------------------------------------


def due(anchored: int, head: int, age_seconds: float, rows: int = 1000) -> bool:
    now = T0 + timedelta(seconds=age_seconds)
    return checkpoint_due(
        anchored_seq=anchored,
        head_seq=head,
        oldest_unanchored_ts=format_ts(T0),
        now=now,
        every_rows=rows,
        every_seconds=60,
    )


def test_a_checkpoint_is_due_after_enough_rows_or_time_never_without_new_rows() -> None:
    assert not due(10, 10, 3600)
    assert not due(10, 11, 59.9)
    assert due(10, 11, 60)
    assert due(0, 1000, 0)
    assert not due(0, 999, 0)
    assert due(5, 8, 0, rows=3)
    assert parse_ts(format_ts(T0)) == T0


# --- a chain checked against checkpoints -----------------------------------------------------


def check_of(
    rows: list[AuditRow],
    checkpoints: list[Checkpoint],
    *,
    signed: bool = True,
    start: tuple[int, str] | None = None,
) -> Any:
    """The rows walked in order against the checkpoints, as the verifiers in
    `infrastructure.queries.audit_verify` and `interfaces.commands.audit_file` walk them."""
    verifier = AnchoredVerifier(Anchors(checkpoints, KEY.check if signed else None), start)
    for row in rows:
        if not verifier.feed(row):
            break
    return verifier.result()


def test_a_good_chain_matches_its_checkpoints() -> None:
    rows = build_chain(10)
    result = check_of(rows, [sign(rows[3]), sign(rows[7])])
    assert result.ok
    assert (result.checked, result.head_seq, result.head_hash) == (10, 10, rows[-1].hash)
    assert (result.checkpoints, result.checkpoint_seq, result.signatures_checked) == (2, 8, True)
    assert result.first_bad_seq is None


def test_duplicate_checkpoints_from_several_sources_count_once() -> None:
    rows = build_chain(5)
    checkpoint = sign(rows[2])
    result = check_of(rows, [checkpoint, checkpoint, Checkpoint.from_dict(checkpoint.as_dict())])
    assert (result.ok, result.checkpoints) == (True, 1)


def test_a_modified_row_is_named_by_its_seq() -> None:
    rows = build_chain(10)
    checkpoints = [sign(rows[4]), sign(rows[9])]
    rows[6] = dataclasses.replace(rows[6], data={"name": "mallory"})
    result = check_of(rows, checkpoints)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 7, 6)
    assert "hash mismatch" in result.reason


def test_a_deleted_middle_row_is_a_gap_at_the_row_after_it() -> None:
    rows = build_chain(10)
    checkpoints = [sign(rows[9])]
    del rows[4]
    result = check_of(rows, checkpoints)
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert result.reason.startswith("gap: expected seq 5, found 6")


def test_swapped_rows_are_named_at_the_first_out_of_place_seq() -> None:
    rows = build_chain(10)
    checkpoints = [sign(rows[9])]
    rows[3], rows[4] = rows[4], rows[3]
    result = check_of(rows, checkpoints)
    assert (result.ok, result.first_bad_seq) == (False, 5)
    assert "expected seq 4, found 5" in result.reason


def test_a_truncated_tail_is_caught_only_against_a_checkpoint() -> None:
    rows = build_chain(10)
    checkpoints = [sign(rows[3]), sign(rows[8])]
    assert check_of(rows[:6], []).ok  # on its own, a shorter chain is a good chain
    result = check_of(rows[:6], checkpoints)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 7, 6)
    assert result.reason.startswith("rows missing below a checkpoint")
    assert "seq 9" in result.reason
    assert "ends at seq 6" in result.reason


def test_an_emptied_log_is_caught_against_a_checkpoint() -> None:
    rows = build_chain(3)
    result = check_of([], [sign(rows[2])])
    assert (result.ok, result.first_bad_seq, result.head_seq) == (False, 1, 0)


def test_a_whole_chain_rewritten_with_fresh_hashes_is_caught_at_the_first_checkpoint() -> None:
    rows = build_chain(10)
    checkpoints = [sign(rows[2]), sign(rows[6])]
    rewritten = _rechain(rows[:1] + [dataclasses.replace(r, actor="x") for r in rows[1:]])
    assert check_of(rewritten, []).ok  # consistent on its own
    result = check_of(rewritten, checkpoints)
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 3, 2)
    assert "does not match the signed checkpoint at seq 3" in result.reason


def _rechain(rows: list[AuditRow]) -> list[AuditRow]:
    out: list[AuditRow] = []
    prev: tuple[int, str] | None = None
    for row in rows:
        new = chain_row(
            prev=prev,
            ts=row.ts,
            actor=row.actor,
            action=row.action,
            target=row.target,
            data=row.data,
        )
        out.append(new)
        prev = (new.seq, new.hash)
    return out


def test_a_forged_checkpoint_is_a_bad_signature_and_anchors_nothing() -> None:
    rows = build_chain(8)
    rewritten = _rechain(rows[:2] + [dataclasses.replace(r, actor="x") for r in rows[2:]])
    genuine = sign(rows[5])
    forged = sign(rewritten[5], OTHER_KEY)  # the attacker's key, or a made-up signature
    result = check_of(rewritten, [forged])
    assert (result.ok, result.first_bad_seq, result.checkpoints) == (False, 6, 0)
    assert result.reason.startswith("bad signature on the checkpoint at seq 6")
    result = check_of(rewritten, [genuine, forged])
    assert (result.ok, result.first_bad_seq) == (False, 6)


def test_without_a_key_checkpoints_still_anchor_but_signatures_are_not_checked() -> None:
    rows = build_chain(6)
    unsigned = dataclasses.replace(sign(rows[5]), signature="")
    result = check_of(rows, [unsigned], signed=False)
    assert (result.ok, result.signatures_checked, result.checkpoints) == (True, False, 1)
    result = check_of(rows[:4], [unsigned], signed=False)
    assert (result.ok, result.first_bad_seq) == (False, 5)


def test_two_checkpoints_that_disagree_at_one_seq_are_a_finding() -> None:
    rows = build_chain(6)
    other = build_chain(6, salt="!")
    anchors = Anchors([sign(rows[3]), sign(other[3])], None)
    assert len(anchors) == 0
    assert [finding.seq for finding in anchors.findings] == [4]
    result = check_of(rows, [sign(rows[3]), sign(other[3])], signed=False)
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "disagree" in result.reason


def test_the_lowest_finding_wins() -> None:
    rows = build_chain(10)
    bad_signature = dataclasses.replace(sign(rows[1]), ts="2031-01-01T00:00:00.000000Z")
    rows[7] = dataclasses.replace(rows[7], target="org:evil")
    result = check_of(rows, [bad_signature, sign(rows[4])])
    assert (result.ok, result.first_bad_seq) == (False, 2)
    assert "bad signature" in result.reason


def test_an_export_from_a_later_seq_is_checked_from_the_checkpoint_before_it() -> None:
    rows = build_chain(10)
    checkpoints = [sign(rows[1]), sign(rows[3]), sign(rows[8])]
    later = rows[4:]
    start = (later[0].seq - 1, later[0].prev_hash)
    result = check_of(later, checkpoints, start=start)
    assert (result.ok, result.checked, result.checkpoint_seq) == (True, 6, 9)
    forged_start = (4, "f" * 64)
    result = check_of(later, checkpoints, start=forged_start)
    assert (result.ok, result.first_bad_seq) == (False, 4)


def test_the_verifier_stops_at_the_first_bad_row() -> None:
    rows = build_chain(6)
    verifier = AnchoredVerifier(Anchors([sign(rows[2])], KEY.check))
    assert verifier.feed(rows[0])
    assert verifier.feed(rows[1])
    assert not verifier.feed(dataclasses.replace(rows[2], hash="0" * 64))
    assert not verifier.feed(rows[3])
    result = verifier.result()
    assert (result.ok, result.first_bad_seq, result.checked) == (False, 3, 2)


@settings(max_examples=60)
@given(
    length=st.integers(2, 25),
    anchored=st.sets(st.integers(0, 24), min_size=1, max_size=5),
    cut=st.integers(0, 24),
)
def test_any_truncation_below_the_highest_checkpoint_is_caught(
    length: int, anchored: set[int], cut: int
) -> None:
    rows = build_chain(length)
    checkpoints = [sign(rows[i]) for i in anchored if i < length]
    if not checkpoints:
        return
    highest = max(c.seq for c in checkpoints)
    kept = rows[: cut % highest]
    result = check_of(kept, checkpoints)
    assert not result.ok
    assert result.first_bad_seq == len(kept) + 1


# --- which chain a checkpoint belongs to -----------------------------------------------------


def test_checkpoints_of_another_chain_are_set_aside_with_a_note_not_read_as_a_rewrite() -> None:
    rows = build_chain(6)
    other = build_chain(9, salt="-other-database")
    theirs = [sign(other[7], chain=other[0].hash), sign(other[8], chain=other[0].hash)]
    ours = [sign(rows[2]), sign(rows[5])]
    bound = bind_to_chain([*theirs, *ours], CHAIN, {})
    assert bound.own == ours
    assert bound.notes == [
        f"2 checkpoints of another chain ({other[0].hash}) at seq 8, 9, not of this chain "
        f"({CHAIN}): not used"
    ]
    # checked against this chain, only its own checkpoints count: no rewrite, no truncation
    check = check_of(rows, bound.own)
    assert (check.ok, check.checkpoint_seq, check.checkpoints) == (True, 6, 2)
    # the same checkpoints read as this chain's would have said the chain was truncated
    assert not check_of(rows, [*theirs, *ours]).ok


def test_a_checkpoint_naming_no_chain_counts_only_where_it_matches_the_row() -> None:
    rows = build_chain(5)
    matching, foreign = sign(rows[2], chain=None), sign(build_chain(5, salt="x")[3], chain=None)
    hash_at = {3: rows[2].hash, 4: rows[3].hash}
    bound = bind_to_chain([matching, foreign], CHAIN, hash_at)
    assert bound.own == [matching]
    assert len(bound.notes) == 1
    assert (
        "naming no chain (written before checkpoints named their chain) at seq 4"
        in (bound.notes[0])
    )
    assert KEY.check(matching) is None  # its old signed bytes still verify
