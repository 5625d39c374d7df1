"""`fluxrouter audit verify FILE --public-key K --checkpoint C`: offline verification against
signed checkpoints, from the export itself and from checkpoint files kept elsewhere."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from domains.audit.chain import AuditRow, chain_row, format_ts
from domains.audit.checkpoint import Checkpoint, signed_payload
from infrastructure.audit.checkpoint_files import LATEST, CheckpointDirectory, file_name
from infrastructure.security.audit_signing import SigningKey, ensure_signing_key
from interfaces.commands.audit_file import verify_file

T0 = datetime(2025, 7, 1, 9, 0, 0, tzinfo=UTC)


def build_chain(count: int, actor: str = "admin") -> list[AuditRow]:
    rows: list[AuditRow] = []
    prev: tuple[int, str] | None = None
    for i in range(count):
        row = chain_row(
            prev=prev,
            ts=format_ts(T0 + timedelta(seconds=i)),
            actor=actor if i else "admin",
            action="team.create",
            target=f"team:{i}",
            data={"org_id": "o1", "name": f"team-{i}"},
        )
        rows.append(row)
        prev = (row.seq, row.hash)
    return rows


CHAIN = build_chain(1)[0].hash
"""The chain `build_chain` makes: its genesis row's hash (the same whatever the actor)."""


def sign(key: SigningKey, row: AuditRow, chain: str | None = CHAIN) -> Checkpoint:
    ts = format_ts(T0 + timedelta(hours=1, seconds=row.seq))
    payload = signed_payload(seq=row.seq, hash=row.hash, ts=ts, key_id=key.key_id, chain=chain)
    return Checkpoint(row.seq, row.hash, ts, key.key_id, key.sign(payload), chain=chain)


def write_export(
    path: Path,
    rows: list[AuditRow],
    checkpoints: Sequence[Checkpoint] = (),
    *,
    interleave: bool = True,
    header: tuple[int, int] | None = None,
    chain: str = CHAIN,
) -> Path:
    """Rows and checkpoints as `audit export` writes them; `header`: its first line, naming
    this chain and the export's first and last seq."""
    by_seq = {c.seq: c for c in checkpoints}
    lines: list[str] = []
    if header is not None:
        export = {"chain": chain, "from_seq": header[0], "to_seq": header[1]}
        lines.append(json.dumps({"export": export}))
    for row in rows:
        lines.append(json.dumps(row.as_dict()))
        if interleave and row.seq in by_seq:
            lines.append(json.dumps({"checkpoint": by_seq.pop(row.seq).as_dict()}))
    lines += [json.dumps({"checkpoint": c.as_dict()}) for c in by_seq.values()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def key(tmp_path: Path) -> SigningKey:
    signing_key, generated = ensure_signing_key(tmp_path / "keys" / "audit.key")
    assert generated
    return signing_key


@pytest.fixture
def public_pem(tmp_path: Path, key: SigningKey) -> Path:
    path = tmp_path / "audit-public.pem"
    path.write_text(key.public_pem(), encoding="utf-8")
    return path


def archive(directory: Path, checkpoints: list[Checkpoint]) -> Path:
    files = CheckpointDirectory(directory)
    for checkpoint in checkpoints:
        asyncio.run(files.write(checkpoint))
    return directory


def test_an_export_with_its_checkpoints_verifies_with_the_public_key(
    tmp_path: Path, key: SigningKey, public_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(12)
    checkpoints = [sign(key, rows[4]), sign(key, rows[9]), sign(key, rows[11])]
    export = write_export(tmp_path / "a.jsonl", rows, checkpoints)
    assert verify_file(str(export), [str(public_pem)]) == 0
    out = capsys.readouterr().out
    assert f"ok: 12 rows verified, head seq 12 hash {rows[-1].hash}" in out
    assert f"chain: {CHAIN}" in out
    assert (
        f"checkpoints: 3, the newest matching at seq 12; signatures checked with key {key.key_id}"
        in out
    )


def test_the_public_key_may_be_given_as_base64_or_pem_text(
    tmp_path: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(4)
    export = write_export(tmp_path / "a.jsonl", rows, [sign(key, rows[3])])
    assert verify_file(str(export), [key.public_base64()]) == 0
    assert verify_file(str(export), [key.public_pem()]) == 0
    assert capsys.readouterr().out.count("signatures checked") == 2


def test_without_a_public_key_the_report_says_signatures_were_not_checked(
    tmp_path: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(4)
    forged = dataclasses.replace(sign(key, rows[3]), signature="AAAA")
    export = write_export(tmp_path / "a.jsonl", rows, [forged])
    assert verify_file(str(export)) == 0
    assert "signatures NOT checked (give --public-key)" in capsys.readouterr().out
    assert verify_file(str(export), [key.public_base64()]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at seq 4: bad signature on the checkpoint at seq 4" in err


def test_a_checkpoint_signed_by_another_key_is_refused(
    tmp_path: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    other, _ = ensure_signing_key(tmp_path / "other.key")
    rows = build_chain(3)
    export = write_export(tmp_path / "a.jsonl", rows, [sign(other, rows[2])])
    assert verify_file(str(export), [key.public_base64()]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at seq 3: bad signature" in err
    assert other.key_id in err
    # both keys given (a key that was replaced): the checkpoint verifies
    assert verify_file(str(export), [key.public_base64(), other.public_base64()]) == 0


def test_a_truncated_tail_is_caught_against_the_checkpoint_directory(
    tmp_path: Path, key: SigningKey, public_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(10)
    shipped = archive(tmp_path / "shipped", [sign(key, rows[3]), sign(key, rows[7])])
    # a shorter export, made to look whole: its last row anchored by a checkpoint of its own
    export = write_export(tmp_path / "a.jsonl", rows[:6], [sign(key, rows[3]), sign(key, rows[5])])
    assert verify_file(str(export), [str(public_pem)]) == 0  # the export alone looks fine
    capsys.readouterr()
    assert verify_file(str(export), [str(public_pem)], [str(shipped)]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at seq 7: rows missing below a checkpoint" in err
    assert "(6 rows verified before it)" in err
    # a single checkpoint file works as well as the directory
    assert verify_file(str(export), [], [str(shipped / CHAIN / file_name(8))]) == 1
    assert verify_file(str(export), [], [str(shipped / CHAIN / LATEST)]) == 1


def test_a_rewritten_chain_is_caught_against_the_checkpoint_directory(
    tmp_path: Path, key: SigningKey, public_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(10)
    shipped = archive(tmp_path / "shipped", [sign(key, rows[3]), sign(key, rows[7])])
    rewritten = build_chain(10, actor="someone-else")
    assert rewritten[0] == rows[0]  # the same chain, rewritten from row 2 on
    export = write_export(tmp_path / "a.jsonl", rewritten)
    assert verify_file(str(export), [str(public_pem)]) == 1  # no checkpoint anchors its end
    assert "the last row, seq 10, is not anchored by a checkpoint" in capsys.readouterr().err
    capsys.readouterr()
    assert verify_file(str(export), [str(public_pem)], [str(shipped)]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at seq 4: hash does not match the signed checkpoint at seq 4" in err


def test_checkpoints_at_the_end_of_the_export_work_as_well_as_interleaved(
    tmp_path: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(6)
    checkpoints = [sign(key, rows[1]), sign(key, rows[5])]
    export = write_export(tmp_path / "a.jsonl", rows, checkpoints, interleave=False)
    assert verify_file(str(export), [key.public_base64()]) == 0
    records = [json.loads(line) for line in export.read_text().splitlines()]
    records[2]["data"]["name"] = "renamed"
    export.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    assert verify_file(str(export), [key.public_base64()]) == 1
    assert "BROKEN at seq 3: hash mismatch" in capsys.readouterr().err


def test_an_export_from_a_later_seq_is_anchored_by_the_checkpoint_before_it(
    tmp_path: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(10)
    checkpoints = [sign(key, rows[4]), sign(key, rows[9])]
    export = write_export(tmp_path / "a.jsonl", rows[5:], checkpoints, header=(6, 10))
    assert verify_file(str(export), [key.public_base64()]) == 0
    out = capsys.readouterr().out
    assert "ok: 5 rows verified, head seq 10" in out
    assert f"chain: {CHAIN}" in out  # named by the header: the genesis row is not in the file
    records = [json.loads(line) for line in export.read_text().splitlines()]
    records[1]["prev_hash"] = "e" * 64  # the first row no longer follows the anchored one
    export.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    assert verify_file(str(export), [key.public_base64()]) == 1
    assert "BROKEN at seq 5: hash does not match the signed checkpoint" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("problem", "expected"),
    [
        ("missing-key", "public key"),
        ("bad-key", "public key"),
        ("missing-checkpoint", "checkpoint file"),
        ("empty-dir", "no checkpoint files"),
        ("bad-file-in-dir", "checkpoint file"),
        ("bad-checkpoint-line", "line 2: not a checkpoint"),
    ],
)
def test_unusable_inputs_are_exit_2(
    tmp_path: Path,
    key: SigningKey,
    capsys: pytest.CaptureFixture[str],
    problem: str,
    expected: str,
) -> None:
    rows = build_chain(3)
    export = write_export(tmp_path / "a.jsonl", rows)
    keys: list[str] = []
    checkpoints: list[str] = []
    if problem == "missing-key":
        keys = [str(tmp_path / "no-such.pem")]
    elif problem == "bad-key":
        keys = ["c2hvcnQ="]
    elif problem == "missing-checkpoint":
        checkpoints = [str(tmp_path / "nope.json")]
    elif problem == "empty-dir":
        (tmp_path / "empty").mkdir()
        checkpoints = [str(tmp_path / "empty")]
    elif problem == "bad-file-in-dir":
        directory = archive(tmp_path / "dir", [sign(key, rows[1])])
        (directory / "checkpoint-00000000000000000003.json").write_text("{truncated")
        checkpoints = [str(directory)]
    else:
        lines = export.read_text().splitlines()
        lines.insert(1, json.dumps({"checkpoint": {"seq": 1}}))
        export.write_text("\n".join(lines) + "\n")
    assert verify_file(str(export), keys, checkpoints) == 2
    err = capsys.readouterr().err
    assert f"cannot verify {export}" in err
    assert expected in err


# --- the real console script -----------------------------------------------------------------


def test_console_script_verifies_offline_with_key_and_checkpoint_directory(
    tmp_path: Path, key: SigningKey, public_pem: Path
) -> None:
    script = Path(sys.executable).parent / "fluxrouter"
    if not script.exists():
        pytest.skip(f"console script not installed at {script}")
    rows = build_chain(8)
    shipped = archive(tmp_path / "shipped", [sign(key, rows[2]), sign(key, rows[7])])
    good = write_export(tmp_path / "good.jsonl", rows, [sign(key, rows[2]), sign(key, rows[7])])
    cut = write_export(tmp_path / "cut.jsonl", rows[:5], [sign(key, rows[2]), sign(key, rows[4])])
    env = {n: v for n, v in os.environ.items() if not n.startswith("FLUXROUTER_")}
    env["HOME"] = str(tmp_path)

    def verify(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), "audit", "verify", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    ok = verify(str(good), "--public-key", str(public_pem), "--checkpoint", str(shipped))
    assert ok.returncode == 0, ok.stderr
    assert "ok: 8 rows verified" in ok.stdout
    assert "signatures checked" in ok.stdout
    broken = verify(str(cut), "--public-key", key.public_base64(), "--checkpoint", str(shipped))
    assert broken.returncode == 1
    assert "BROKEN at seq 6: rows missing below a checkpoint" in broken.stderr
    assert not any(tmp_path.glob("*.db"))
    assert not any(tmp_path.glob("*.key"))


# --- checkpoints of other chains -------------------------------------------------------------


def other_chain(count: int) -> list[AuditRow]:
    """Another database's chain: its own genesis row."""
    rows = build_chain(count + 1)[1:]  # row 2 onwards of ours, renumbered from 1
    chained: list[AuditRow] = []
    prev: tuple[int, str] | None = None
    for row in rows:
        new = chain_row(
            prev=prev, ts=row.ts, actor=row.actor, action=row.action, target=row.target, data={}
        )
        chained.append(new)
        prev = (new.seq, new.hash)
    return chained


def test_a_directory_holding_two_chains_checks_each_file_against_its_own(
    tmp_path: Path, key: SigningKey, public_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ours, theirs = build_chain(6), other_chain(20)
    their_chain = theirs[0].hash
    assert their_chain != CHAIN
    shipped = archive(
        tmp_path / "shipped",
        [sign(key, ours[2]), sign(key, ours[5]), *(sign(key, r, their_chain) for r in theirs[9:])],
    )
    assert sorted(p.name for p in shipped.iterdir()) == sorted([CHAIN, their_chain])
    export = write_export(tmp_path / "a.jsonl", ours, [sign(key, ours[5])], header=(1, 6))
    assert verify_file(str(export), [str(public_pem)], [str(shipped)]) == 0
    out = capsys.readouterr().out
    assert "ok: 6 rows verified" in out
    assert "checkpoints: 2, the newest matching at seq 6" in out  # not "rewritten", not "missing"
    assert f"11 checkpoints of another chain ({their_chain}) at seq 10, 11, 12, 13, 14" in out
    # the other chain's export verifies against the same directory too
    mine = write_export(tmp_path / "b.jsonl", theirs, [sign(key, theirs[-1], their_chain)])
    assert verify_file(str(mine), [str(public_pem)], [str(shipped)]) == 0
    assert f"chain: {their_chain}" in capsys.readouterr().out


def test_checkpoints_given_that_are_all_of_another_chain_fail_the_check(
    tmp_path: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    """A chain rewritten from its first row is another chain: the checkpoints a compliance team
    kept no longer apply to it, and that is what the check says."""
    ours = build_chain(6)
    shipped = archive(tmp_path / "shipped", [sign(key, ours[2]), sign(key, ours[5])])
    forged = other_chain(6)
    forged_chain = forged[0].hash
    export = write_export(
        tmp_path / "a.jsonl",
        forged,
        [sign(key, forged[5], forged_chain)],
        header=(1, 6),
        chain=forged_chain,
    )
    assert verify_file(str(export), [key.public_base64()]) == 0  # alone, it holds together
    capsys.readouterr()
    assert verify_file(str(export), [key.public_base64()], [str(shipped)]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at seq 1: none of the checkpoints given with --checkpoint is of this file's" in (
        err
    )
    assert f"2 checkpoints of another chain ({CHAIN})" in err


def test_a_header_naming_another_chain_than_the_genesis_row_fails(
    tmp_path: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(3)
    export = write_export(tmp_path / "a.jsonl", rows, [sign(key, rows[2])], header=(1, 3))
    lines = export.read_text().splitlines()
    lines[0] = json.dumps({"export": {"chain": "a" * 64, "from_seq": 1, "to_seq": 3}})
    export.write_text("\n".join(lines) + "\n")
    assert verify_file(str(export), [key.public_base64()]) == 1
    assert f"the export names chain {'a' * 64}, but its genesis row hashes to {CHAIN}" in (
        capsys.readouterr().err
    )


def test_checkpoints_naming_no_chain_count_only_where_they_match(
    tmp_path: Path, key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checkpoints written before checkpoints named their chain: used where this chain has their
    row with their hash, else set aside (another chain's, or this one's before a rewrite)."""
    rows = build_chain(6)
    old = archive(tmp_path / "old", [sign(key, rows[2], None), sign(key, rows[5], None)])
    export = write_export(tmp_path / "a.jsonl", rows, [sign(key, rows[5])], header=(1, 6))
    assert verify_file(str(export), [key.public_base64()], [str(old)]) == 0
    assert "checkpoints: 2, the newest matching at seq 6" in capsys.readouterr().out  # 3 and 6
    rewritten = build_chain(6, actor="mallory")
    cut = write_export(tmp_path / "b.jsonl", rewritten, [sign(key, rewritten[5])], header=(1, 6))
    assert verify_file(str(cut), [key.public_base64()], [str(old)]) == 1
    err = capsys.readouterr().err
    assert "none of the checkpoints given with --checkpoint is of this file's chain" in err
    assert "2 checkpoints naming no chain (written before checkpoints named their chain)" in err
