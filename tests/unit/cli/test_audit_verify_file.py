"""`fluxrouter audit verify FILE`: offline verification of an exported audit chain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domains.audit.chain import AuditRow, chain_row, format_ts
from domains.audit.checkpoint import Checkpoint, signed_payload
from infrastructure.security.audit_signing import SigningKey
from interfaces.commands.audit_file import verify_file

T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


def build_chain(count: int) -> list[AuditRow]:
    rows: list[AuditRow] = []
    prev: tuple[int, str] | None = None
    for i in range(count):
        row = chain_row(
            prev=prev,
            ts=format_ts(T0 + timedelta(minutes=i)),
            actor="admin" if i % 2 else f"key:{i}",
            action="key.create",
            target=f"key:{i}",
            data={"team_id": "t1", "n": i, "models": ["gpt-4o-mini"], "note": "ünï"},
        )
        rows.append(row)
        prev = (row.seq, row.hash)
    return rows


def write_rows(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text(
        "".join(json.dumps(r, separators=(",", ":"), ensure_ascii=False) + "\n" for r in records),
        encoding="utf-8",
    )
    return path


KEY = SigningKey(Ed25519PrivateKey.generate())


def tail_checkpoint(rows: list[AuditRow], chain: str) -> dict[str, Any]:
    """The checkpoint of the last row that `audit export` ends an export with."""
    last = rows[-1]
    ts = format_ts(T0 + timedelta(days=1))
    payload = signed_payload(seq=last.seq, hash=last.hash, ts=ts, key_id=KEY.key_id, chain=chain)
    signed = Checkpoint(last.seq, last.hash, ts, KEY.key_id, KEY.sign(payload), chain=chain)
    return {"checkpoint": signed.as_dict()}


def export(tmp_path: Path, rows: list[AuditRow], name: str = "audit.jsonl") -> Path:
    """The rows as `audit export` writes them: a header naming the chain `build_chain` makes,
    the rows, and a checkpoint of the last one."""
    chain = build_chain(1)[0].hash
    header = {"export": {"chain": chain, "from_seq": rows[0].seq, "to_seq": rows[-1].seq}}
    return write_rows(
        tmp_path / name, [header, *(row.as_dict() for row in rows), tail_checkpoint(rows, chain)]
    )


def test_a_good_file_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = build_chain(5)
    assert verify_file(str(export(tmp_path, rows))) == 0
    out, err = capsys.readouterr()
    assert f"ok: 5 rows verified, head seq 5 hash {rows[-1].hash}" in out
    assert err == ""


def test_blank_lines_are_skipped_and_checkpoint_lines_are_not_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(3)
    path = tmp_path / "audit.jsonl"
    checkpoint = {"seq": 1, "hash": rows[0].hash, "ts": rows[0].ts, "key_id": "k", "signature": ""}
    lines = [json.dumps(rows[0].as_dict()), "", json.dumps({"checkpoint": checkpoint})]
    lines += [json.dumps(row.as_dict()) for row in rows[1:]]
    lines.append(json.dumps(tail_checkpoint(rows, rows[0].hash)))
    path.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    assert verify_file(str(path)) == 0
    out = capsys.readouterr().out
    assert "ok: 3 rows verified" in out
    assert "checkpoints: 2" in out
    assert "signatures NOT checked" in out


def test_a_tampered_row_fails_naming_its_seq(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [row.as_dict() for row in build_chain(5)]
    records[2]["data"]["n"] = 99
    assert verify_file(str(write_rows(tmp_path / "a.jsonl", records))) == 1
    out, err = capsys.readouterr()
    assert "BROKEN at seq 3: hash mismatch" in err
    assert "(2 rows verified before it)" in err
    assert "ok:" not in out


def test_a_tampered_actor_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    records = [row.as_dict() for row in build_chain(4)]
    records[3]["actor"] = "someone-else"
    assert verify_file(str(write_rows(tmp_path / "a.jsonl", records))) == 1
    assert "BROKEN at seq 4" in capsys.readouterr().err


def test_a_deleted_middle_row_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = build_chain(5)
    del rows[2]
    assert verify_file(str(export(tmp_path, rows))) == 1
    err = capsys.readouterr().err
    assert "BROKEN at seq 4: gap: expected seq 3, found 4" in err


def test_reordered_rows_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = build_chain(5)
    rows[3], rows[4] = rows[4], rows[3]
    assert verify_file(str(export(tmp_path, rows))) == 1
    err = capsys.readouterr().err
    # a later row coming first reads as a gap; the seqs named are what matters
    assert "BROKEN at seq 5: gap: expected seq 4, found 5" in err
    assert "(3 rows verified before it)" in err


def test_a_deleted_last_row_is_caught_offline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cut off its end, an export's last row is no longer the one its checkpoint anchors."""
    rows = build_chain(5)
    lines = export(tmp_path, rows).read_text().splitlines()
    cut = tmp_path / "cut.jsonl"
    reasons = []
    for kept in (6, 5, 2):  # the header, rows 1..5, the checkpoint: cut to its last row, ...
        cut.write_text("\n".join(lines[:kept]) + "\n", encoding="utf-8")
        assert verify_file(str(cut)) == 1
        reasons.append(capsys.readouterr().err)
        assert f"BROKEN at seq {kept}: " in reasons[-1]
    assert "the last row, seq 5, is not anchored by a checkpoint" in reasons[0]
    assert "rows missing at the end: the export holds rows up to seq 5" in reasons[1]
    assert "the file ends at seq 1 (its tail was cut off)" in reasons[2]


def test_an_export_starting_after_genesis_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = build_chain(8)
    assert verify_file(str(export(tmp_path, rows[3:]))) == 0  # as `export --from-seq 4` writes
    assert f"ok: 5 rows verified, head seq 8 hash {rows[-1].hash}" in capsys.readouterr().out


def test_an_export_after_genesis_still_catches_tampering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [row.as_dict() for row in build_chain(8)[3:]]
    records[2]["target"] = "key:evil"
    assert verify_file(str(write_rows(tmp_path / "a.jsonl", records))) == 1
    assert "BROKEN at seq 6" in capsys.readouterr().err


def test_a_genesis_row_with_a_wrong_prev_hash_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    records = [row.as_dict() for row in build_chain(2)]
    records[0]["prev_hash"] = "a" * 64
    assert verify_file(str(write_rows(tmp_path / "a.jsonl", records))) == 1
    assert "BROKEN at seq 1: prev_hash" in capsys.readouterr().err


def test_a_missing_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.jsonl"
    assert verify_file(str(missing)) == 2
    err = capsys.readouterr().err
    assert f"cannot verify {missing}" in err


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("not json at all", "cannot verify"),
        ("[1, 2, 3]", "line 2: not an audit row"),
        ('{"seq": 2, "ts": "x"}', "line 2: not an audit row"),
        ("null", "line 2: not an audit row"),
    ],
)
def test_a_line_that_is_not_a_row_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, why: str
) -> None:
    rows = build_chain(3)
    path = tmp_path / "a.jsonl"
    path.write_text(
        json.dumps(rows[0].as_dict()) + "\n" + line + "\n" + json.dumps(rows[1].as_dict()) + "\n",
        encoding="utf-8",
    )
    assert verify_file(str(path)) == 2
    assert why in capsys.readouterr().err


@pytest.mark.parametrize(
    ("field", "value"), [("data", "a string"), ("data", [1, 2]), ("seq", "1"), ("seq", 1.0)]
)
def test_a_row_with_mistyped_fields_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], field: str, value: Any
) -> None:
    record = build_chain(1)[0].as_dict()
    record[field] = value
    assert verify_file(str(write_rows(tmp_path / "a.jsonl", [record]))) == 2
    assert "line 1: `data` must be an object and `seq` an integer" in capsys.readouterr().err


def test_an_empty_file_is_not_a_verified_chain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("\n", encoding="utf-8")
    assert verify_file(str(path)) == 1
    assert "holds no audit rows" in capsys.readouterr().err


# --- the real console script -----------------------------------------------------------------


def run_cli(path: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).parent / "fluxrouter"
    if not script.exists():
        pytest.skip(f"console script not installed at {script}")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("FLUXROUTER_") and name not in {"DATABASE_URL"}
    }
    env["HOME"] = str(cwd)  # no config to be found anywhere it might look
    return subprocess.run(
        [str(script), "audit", "verify", str(path)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_console_script_needs_no_config_or_database(tmp_path: Path) -> None:
    rows = build_chain(4)
    good = export(tmp_path, rows, "good.jsonl")
    records = [row.as_dict() for row in rows]
    records[1]["action"] = "key.revoke"
    tampered = write_rows(tmp_path / "tampered.jsonl", records)
    assert not any(tmp_path.glob("*.yaml"))

    ok = run_cli(good, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert f"ok: 4 rows verified, head seq 4 hash {rows[-1].hash}" in ok.stdout

    broken = run_cli(tampered, tmp_path)
    assert broken.returncode == 1, broken.stderr
    assert "BROKEN at seq 2" in broken.stderr
    assert not any(tmp_path.glob("*.db"))
    assert not any(tmp_path.glob("*.sqlite*"))
