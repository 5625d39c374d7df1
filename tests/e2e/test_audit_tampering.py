"""A PostgreSQL superuser tampers with the audit log behind the triggers' back; the gateway's
`/admin/v1/audit/verify` and the offline `fluxrouter audit verify` (on an export, with the public
key and a copy of the checkpoint directory shipped before the tampering) both name the first bad
seq.

One chain is built once: org creations with two signed checkpoints and three rows after the
newest one, not yet anchored. Each tampering gets a copy of that database, of the key and of the
checkpoint directory, and a gateway of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from domains.audit.chain import chain_row
from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config
from tests.support.services import PG_ADMIN_DSN, postgres_database
from tests.support.tenants import eventually

pytestmark = pytest.mark.postgres

FLUXROUTER = str(Path(sys.executable).parent / "fluxrouter")
KEY_FILE = "fluxrouter-audit-signing.key"
CHECKPOINTS = "audit-checkpoints"


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def database_name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def config_for(database_url: str, upstream: FakeOpenAI) -> dict[str, Any]:
    config = gateway_config(
        database_url=database_url,
        redis_url=None,
        upstream_url=upstream.base_url,
        upstream_key=UPSTREAM_KEY,
    )
    config["audit"] = {"checkpoint_every_seconds": 0}  # checkpoints only when the test says
    return config


def audit_rows(gateway: GatewayProcess) -> list[dict[str, Any]]:
    with gateway.admin() as admin:
        return list(admin.get("/audit", params={"limit": 1000}).json()["rows"])


def add_orgs(gateway: GatewayProcess, count: int) -> int:
    """Creates `count` orgs; the head seq once all of them are in the audit log."""
    before = len([row for row in audit_rows(gateway) if row["action"] == "org.create"])
    with gateway.admin() as admin:
        for n in range(count):
            answer = admin.post("/orgs", json={"name": f"golden-{before + n}"})
            assert answer.status_code == 201

    def appended() -> list[dict[str, Any]]:
        rows = audit_rows(gateway)
        orgs = [row for row in rows if row["action"] == "org.create"]
        return rows if len(orgs) == before + count else []

    return int(eventually(appended)[-1]["seq"])


def checkpoint(gateway: GatewayProcess, seq: int) -> int:
    made = gateway.fluxrouter("audit", "checkpoint")
    assert made.returncode == 0, made.stderr
    assert f"checkpoint at seq {seq} " in made.stdout
    return seq


@dataclass(frozen=True)
class Golden:
    database_url: str
    workdir: Path
    public_key: Path
    first: int
    """The seq of the first checkpoint (at least 6)."""
    newest: int
    """The seq of the newest checkpoint (6 rows after the first); 3 rows follow it."""


@pytest.fixture(scope="module")
def golden(upstream: FakeOpenAI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Golden]:
    workdir = tmp_path_factory.mktemp("audit-golden")
    with postgres_database("fluxrouter_audit_golden") as url:
        gateway = GatewayProcess(workdir, config_for(url, upstream), admin_key="fradm-" + "g" * 40)
        gateway.start()
        try:
            first = checkpoint(gateway, add_orgs(gateway, 6))
            newest = checkpoint(gateway, add_orgs(gateway, 6))
            assert newest == first + 6
            assert add_orgs(gateway, 3) == newest + 3
            public = gateway.fluxrouter("audit", "public-key")
            assert public.returncode == 0, public.stderr
        finally:
            gateway.stop()
        public_key = workdir / "audit-public.pem"
        public_key.write_text(public.stdout)
        yield Golden(url, workdir, public_key, first, newest)


@dataclass
class Scenario:
    gateway: GatewayProcess
    database_url: str
    shipped: Path
    """The copy of the checkpoint directory the compliance team received before the tampering."""
    public_key: Path
    workdir: Path
    first: int
    newest: int

    @contextmanager
    def superuser(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        with psycopg.connect(libpq(self.database_url), autocommit=True) as conn:
            conn.execute("SET session_replication_role = replica")  # the triggers stay silent
            yield conn


@contextmanager
def database_copy(template_url: str) -> Iterator[str]:
    base = libpq(PG_ADMIN_DSN)
    with postgres_database("fluxrouter_audit_tampered") as url:
        name = database_name(url)
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE "{name}"')
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database_name(template_url)}"')
        yield url


@pytest.fixture
def scenario(golden: Golden, upstream: FakeOpenAI, tmp_path: Path) -> Iterator[Scenario]:
    workdir = tmp_path / "gateway"
    workdir.mkdir()
    shutil.copy2(golden.workdir / KEY_FILE, workdir / KEY_FILE)
    shutil.copytree(golden.workdir / CHECKPOINTS, workdir / CHECKPOINTS)
    shipped = shutil.copytree(golden.workdir / CHECKPOINTS, tmp_path / "shipped-checkpoints")
    with database_copy(golden.database_url) as url:
        gateway = GatewayProcess(workdir, config_for(url, upstream), admin_key="fradm-" + "t" * 40)
        gateway.start()
        try:
            ready = Scenario(
                gateway,
                url,
                Path(shipped),
                golden.public_key,
                tmp_path,
                golden.first,
                golden.newest,
            )
            assert verify_api(ready)["ok"] is True
            yield ready
        finally:
            gateway.stop()


def verify_api(scenario: Scenario, *, full: bool = False) -> dict[str, Any]:
    with scenario.gateway.admin() as admin:
        answer = admin.get("/audit/verify", params={"full": "true"} if full else {})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def verify_offline(scenario: Scenario) -> subprocess.CompletedProcess[str]:
    """Export on the gateway host; verify elsewhere, with no config and no database."""
    export = scenario.workdir / "audit.jsonl"
    exported = scenario.gateway.fluxrouter("audit", "export", "--out", str(export))
    # 1 when signing the export's tail checkpoint finds the chain broken (the file is written)
    assert exported.returncode in (0, 1), exported.stderr
    assert "fluxrouter: exported " in exported.stdout
    elsewhere = scenario.workdir / "compliance"
    elsewhere.mkdir(exist_ok=True)
    env = {n: v for n, v in os.environ.items() if not n.startswith("FLUXROUTER_")}
    env["HOME"] = str(elsewhere)
    return subprocess.run(
        [
            FLUXROUTER,
            "audit",
            "verify",
            str(export),
            "--public-key",
            str(scenario.public_key),
            "--checkpoint",
            str(scenario.shipped),
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_detected(scenario: Scenario, seq: int, why: str, *, incremental: bool = True) -> None:
    for full in (False, True) if incremental else (True,):
        answer = verify_api(scenario, full=full)
        assert answer["ok"] is False, answer
        assert answer["first_bad_seq"] == seq, answer
        assert why in answer["reason"], answer
        assert answer["signatures_checked"] is True
    offline = verify_offline(scenario)
    assert offline.returncode == 1, offline.stdout + offline.stderr
    assert f"BROKEN at seq {seq}: " in offline.stderr
    assert why in offline.stderr
    assert "signatures checked" in offline.stderr


def test_the_untouched_chain_verifies_everywhere(scenario: Scenario) -> None:
    incremental = verify_api(scenario)
    head = incremental["head_seq"]
    assert incremental["ok"] is True
    assert head >= scenario.newest + 3
    assert incremental["checkpoint_seq"] == scenario.newest
    # the row the newest checkpoint anchors and the rows after it are rehashed
    assert incremental["checked"] == head - scenario.newest + 1
    assert incremental["checkpoints"] == 2
    full = verify_api(scenario, full=True)
    assert (full["ok"], full["checked"], full["full"]) == (True, head, True)
    offline = verify_offline(scenario)
    assert offline.returncode == 0, offline.stderr
    assert f"ok: {head} rows verified, head seq {head}" in offline.stdout
    # the export ends with a checkpoint of its last row, signed when it was made
    newest = f"checkpoints: 3, the newest matching at seq {head}; signatures checked"
    assert newest in offline.stdout


def test_a_modified_row_is_named(scenario: Scenario) -> None:
    with scenario.superuser() as conn:
        conn.execute(
            """UPDATE audit_log SET data = '{"name": "mallory"}' WHERE seq = %s""",
            (scenario.newest + 2,),
        )
    assert_detected(scenario, scenario.newest + 2, "hash mismatch")


def test_a_row_modified_below_a_checkpoint_is_named_by_the_full_check(scenario: Scenario) -> None:
    # the incremental check trusts rows below a matching checkpoint's hash; a full one rehashes
    with scenario.superuser() as conn:
        conn.execute("UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
    assert_detected(scenario, 3, "hash mismatch", incremental=False)


def test_a_deleted_middle_row_is_named(scenario: Scenario) -> None:
    gone = scenario.first + 2
    with scenario.superuser() as conn:
        conn.execute("DELETE FROM audit_log WHERE seq = %s", (gone,))
    assert_detected(scenario, gone + 1, f"gap: expected seq {gone}, found {gone + 1}")


def test_two_swapped_rows_are_named(scenario: Scenario) -> None:
    with scenario.superuser() as conn:
        conn.execute("UPDATE audit_log SET seq = -4 WHERE seq = 4")
        conn.execute("UPDATE audit_log SET seq = 4 WHERE seq = 5")
        conn.execute("UPDATE audit_log SET seq = 5 WHERE seq = -4")
    assert_detected(scenario, 4, "prev_hash does not match")


def test_a_truncated_tail_is_named_against_the_checkpoints(scenario: Scenario) -> None:
    kept = scenario.first + 3
    with scenario.superuser() as conn:  # the rows and the database's checkpoints above them
        conn.execute("DELETE FROM audit_log WHERE seq > %s", (kept,))
        conn.execute("DELETE FROM audit_checkpoints WHERE seq > %s", (kept,))
    assert_detected(scenario, kept + 1, "rows missing below a checkpoint")


def test_a_whole_chain_rewritten_with_fresh_hashes_is_named_against_the_checkpoints(
    scenario: Scenario,
) -> None:
    with scenario.superuser() as conn:
        rows = conn.execute(
            "SELECT seq, ts, actor, action, target, data FROM audit_log ORDER BY seq"
        ).fetchall()
        prev: tuple[int, str] | None = None
        for seq, ts, actor, action, target, data in rows:
            facts = json.loads(data)
            if seq == 2:
                facts = {**facts, "name": "never-happened"}
            row = chain_row(prev=prev, ts=ts, actor=actor, action=action, target=target, data=facts)
            conn.execute(
                "UPDATE audit_log SET data = %s, prev_hash = %s, hash = %s WHERE seq = %s",
                (json.dumps(facts), row.prev_hash, row.hash, seq),
            )
            prev = (row.seq, row.hash)
        conn.execute("DELETE FROM audit_checkpoints")  # and the anchors it can reach
    first = scenario.first
    assert_detected(scenario, first, f"does not match the signed checkpoint at seq {first}")
