"""The audit hash chain: genesis, row hashes, and what verify_rows catches (and where)."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from domains.audit.chain import (
    GENESIS_HASH,
    AuditRow,
    ChainVerifier,
    chain_row,
    format_ts,
    row_hash,
    verify_rows,
)

T0 = datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)


def build_chain(count: int, start: tuple[int, str] | None = None) -> list[AuditRow]:
    rows: list[AuditRow] = []
    prev = start
    for i in range(count):
        row = chain_row(
            prev=prev,
            ts=format_ts(T0 + timedelta(seconds=i)),
            actor=f"user:{i}",
            action="key.create",
            target=f"key:{i}",
            data={"n": i, "name": f"k{i}"},
        )
        rows.append(row)
        prev = (row.seq, row.hash)
    return rows


def test_genesis_row_has_seq_1_and_64_zero_prev_hash() -> None:
    [row] = build_chain(1)
    assert row.seq == 1
    assert row.prev_hash == "0" * 64 == GENESIS_HASH


def test_each_row_links_to_the_one_before() -> None:
    rows = build_chain(5)
    assert [row.seq for row in rows] == [1, 2, 3, 4, 5]
    for before, after in itertools.pairwise(rows):
        assert after.prev_hash == before.hash


def test_row_hash_is_sha256_of_rfc8785_canonical_json() -> None:
    [row] = build_chain(1)
    canonical = rfc8785.dumps(
        {
            "seq": row.seq,
            "ts": row.ts,
            "actor": row.actor,
            "action": row.action,
            "target": row.target,
            "data": row.data,
            "prev_hash": row.prev_hash,
        }
    )
    assert row.hash == hashlib.sha256(canonical).hexdigest()
    assert len(row.hash) == 64
    assert row.hash == row.hash.lower()


def test_row_hash_does_not_depend_on_data_key_order() -> None:
    common: dict[str, Any] = {"seq": 1, "ts": "t", "actor": "a", "action": "x", "target": "y"}
    one = row_hash(**common, data={"a": 1, "b": 2}, prev_hash=GENESIS_HASH)
    two = row_hash(**common, data={"b": 2, "a": 1}, prev_hash=GENESIS_HASH)
    assert one == two


def test_format_ts_is_utc_with_microseconds_and_z() -> None:
    assert format_ts(T0) == "2025-01-02T03:04:05.678901Z"
    plus_two = T0.astimezone(timezone(timedelta(hours=2)))
    assert format_ts(plus_two) == "2025-01-02T03:04:05.678901Z"
    assert format_ts(datetime(2025, 1, 1, tzinfo=UTC)) == "2025-01-01T00:00:00.000000Z"


def test_as_dict_has_every_field() -> None:
    [row] = build_chain(1)
    assert row.as_dict() == {
        "seq": 1,
        "ts": row.ts,
        "actor": "user:0",
        "action": "key.create",
        "target": "key:0",
        "data": {"n": 0, "name": "k0"},
        "prev_hash": GENESIS_HASH,
        "hash": row.hash,
    }


def test_a_good_chain_verifies() -> None:
    rows = build_chain(6)
    check = verify_rows(rows)
    assert check.ok
    assert check.checked == 6
    assert (check.head_seq, check.head_hash) == (6, rows[-1].hash)
    assert check.first_bad_seq is None
    assert check.reason is None


def test_an_empty_chain_verifies_with_the_genesis_head() -> None:
    check = verify_rows([])
    assert check.ok
    assert (check.checked, check.head_seq, check.head_hash) == (0, 0, GENESIS_HASH)


def test_changed_data_is_caught_at_that_row() -> None:
    rows = build_chain(5)
    rows[2] = dataclasses.replace(rows[2], data={"n": 2, "name": "evil"})
    check = verify_rows(rows)
    assert not check.ok
    assert check.first_bad_seq == 3
    assert check.reason is not None
    assert "hash mismatch" in check.reason
    assert check.checked == 2
    assert (check.head_seq, check.head_hash) == (2, rows[1].hash)


def test_changed_ts_is_caught_at_that_row() -> None:
    rows = build_chain(5)
    rows[3] = dataclasses.replace(rows[3], ts=format_ts(T0 - timedelta(days=1)))
    check = verify_rows(rows)
    assert (check.ok, check.first_bad_seq) == (False, 4)
    assert "hash mismatch" in (check.reason or "")


def test_a_rehashed_row_breaks_the_link_to_the_next() -> None:
    """Tampering and recomputing that row's hash is caught at the row after it."""
    rows = build_chain(5)
    bad = rows[1]
    forged = chain_row(
        prev=(1, rows[0].hash),
        ts=bad.ts,
        actor=bad.actor,
        action=bad.action,
        target=bad.target,
        data={"forged": True},
    )
    rows[1] = forged
    check = verify_rows(rows)
    assert (check.ok, check.first_bad_seq, check.checked) == (False, 3, 2)
    assert "prev_hash" in (check.reason or "")


def test_swapped_rows_are_caught_at_the_first_out_of_place_row() -> None:
    rows = build_chain(5)
    rows[1], rows[2] = rows[2], rows[1]
    check = verify_rows(rows)
    assert not check.ok
    assert check.first_bad_seq == 3
    assert "expected seq 2, found 3" in (check.reason or "")
    assert check.checked == 1


def test_a_gap_is_caught_at_the_row_after_it() -> None:
    rows = build_chain(5)
    del rows[2]  # seq 3 is gone
    check = verify_rows(rows)
    assert (check.ok, check.first_bad_seq, check.checked) == (False, 4, 2)
    assert (check.reason or "").startswith("gap: expected seq 3, found 4")


def test_a_duplicate_is_caught_at_the_repeated_row() -> None:
    rows = build_chain(4)
    rows.insert(2, rows[1])  # 1, 2, 2, 3, 4
    check = verify_rows(rows)
    assert (check.ok, check.first_bad_seq, check.checked) == (False, 2, 2)
    assert (check.reason or "").startswith("reorder or duplicate: expected seq 3, found 2")


def test_a_wrong_genesis_prev_hash_is_caught_at_seq_1() -> None:
    rows = build_chain(3)
    rows[0] = dataclasses.replace(rows[0], prev_hash="f" * 64)
    check = verify_rows(rows)
    assert (check.ok, check.first_bad_seq, check.checked) == (False, 1, 0)
    assert "prev_hash" in (check.reason or "")


def test_a_wrong_prev_hash_in_the_middle_is_caught_at_that_row() -> None:
    rows = build_chain(5)
    rows[3] = dataclasses.replace(rows[3], prev_hash=rows[1].hash)
    check = verify_rows(rows)
    assert (check.ok, check.first_bad_seq) == (False, 4)


def test_a_chain_not_starting_at_genesis_fails_without_a_start() -> None:
    rows = build_chain(5)[2:]
    check = verify_rows(rows)
    assert (check.ok, check.first_bad_seq) == (False, 3)


def test_verifier_can_start_after_genesis() -> None:
    rows = build_chain(5)
    verifier = ChainVerifier(start=(2, rows[1].hash))
    assert all(verifier.feed(row) for row in rows[2:])
    check = verifier.result()
    assert (check.ok, check.checked, check.head_seq, check.head_hash) == (True, 3, 5, rows[4].hash)


def test_verifier_refuses_everything_after_the_first_bad_row() -> None:
    rows = build_chain(4)
    verifier = ChainVerifier()
    assert verifier.feed(rows[0])
    assert not verifier.feed(rows[2])
    assert not verifier.feed(rows[1])  # would have been fine, but the chain is already broken
    check = verifier.result()
    assert (check.ok, check.first_bad_seq, check.checked) == (False, 3, 1)


# --- properties ------------------------------------------------------------------------------

JSON_SCALARS = (
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FACTS = st.fixed_dictionaries(
    {
        "ts": st.datetimes(
            min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
        ).map(format_ts),
        "actor": st.text(max_size=30),
        "action": st.text(min_size=1, max_size=30),
        "target": st.text(max_size=30),
        "data": st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=5),
    }
)


def chain_of(facts: list[dict[str, Any]]) -> list[AuditRow]:
    rows: list[AuditRow] = []
    prev: tuple[int, str] | None = None
    for fact in facts:
        row = chain_row(prev=prev, **fact)
        rows.append(row)
        prev = (row.seq, row.hash)
    return rows


@settings(max_examples=40)
@given(st.lists(FACTS, max_size=12))
def test_any_chained_facts_verify(facts: list[dict[str, Any]]) -> None:
    rows = chain_of(facts)
    check = verify_rows(rows)
    assert check.ok
    assert check.checked == len(rows)
    assert check.head_seq == len(rows)


def _flip_hex(value: str) -> str:
    return ("1" if value[0] == "0" else "0") + value[1:]


MUTATIONS = {
    "seq": lambda row, k: dataclasses.replace(row, seq=row.seq + k),
    "ts": lambda row, k: dataclasses.replace(row, ts=row.ts + "x"),
    "actor": lambda row, k: dataclasses.replace(row, actor=row.actor + "!"),
    "action": lambda row, k: dataclasses.replace(row, action=row.action + "!"),
    "target": lambda row, k: dataclasses.replace(row, target=row.target + "!"),
    "data": lambda row, k: dataclasses.replace(row, data={**row.data, "\x00tampered": k}),
    "prev_hash": lambda row, k: dataclasses.replace(row, prev_hash=_flip_hex(row.prev_hash)),
    "hash": lambda row, k: dataclasses.replace(row, hash=_flip_hex(row.hash)),
}


@settings(max_examples=50)
@given(
    facts=st.lists(FACTS, min_size=1, max_size=10),
    where=st.integers(min_value=0),
    field=st.sampled_from(sorted(MUTATIONS)),
    k=st.integers(-5, 5).filter(bool),
)
def test_mutating_any_field_of_any_row_fails_at_that_row(
    facts: list[dict[str, Any]], where: int, field: str, k: int
) -> None:
    rows = chain_of(facts)
    index = where % len(rows)
    original_seq = rows[index].seq
    rows[index] = MUTATIONS[field](rows[index], k)

    check = verify_rows(rows)

    assert not check.ok
    assert check.checked == index  # every row before it still verifies
    assert check.head_seq == index
    if field == "seq":
        # a changed seq is reported as found, with the expected seq in the reason
        assert check.first_bad_seq == original_seq + k
        assert f"expected seq {original_seq}," in (check.reason or "")
    else:
        assert check.first_bad_seq == original_seq
