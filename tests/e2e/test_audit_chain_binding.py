"""The embedded shape, then the production shape, run in one directory with one configuration
(what the README's production steps lead to): each database's chain keeps its own checkpoints in
the shared checkpoint directory, neither is reported rewritten, and checkpoints go on being signed
on the new chain. `audit export`, run from another directory with `--config`, uses the
configuration's directory, and its export ends with a checkpoint of its last row: cutting any
rows off its end fails `audit verify`."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import UPSTREAM_KEY
from tests.fakes.openai_upstream import FakeOpenAI
from tests.support.gateway import GatewayProcess, gateway_config, own_gateway
from tests.support.services import postgres_database
from tests.support.tenants import eventually

pytestmark = pytest.mark.postgres

FLUXROUTER = str(Path(sys.executable).parent / "fluxrouter")
ADMIN_KEY = "fradm-" + "b" * 40


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FLUXROUTER, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def config(database_url: str, redis_url: str | None, upstream: FakeOpenAI) -> dict[str, Any]:
    settings = gateway_config(
        database_url=database_url,
        redis_url=redis_url,
        upstream_url=upstream.base_url,
        upstream_key=UPSTREAM_KEY,
    )
    settings["audit"] = {"checkpoint_every_rows": 3, "checkpoint_every_seconds": 3600}
    return settings


def add_orgs_until_signed(gateway: GatewayProcess, prefix: str, count: int) -> dict[str, Any]:
    """Creates orgs, then waits for the checkpoint writer to sign one covering at least 3 rows
    of this database's chain; its `/audit/verify` answer."""
    with gateway.admin() as admin:
        for n in range(count):
            assert admin.post("/orgs", json={"name": f"{prefix}-{n}"}).status_code == 201

        def signed() -> dict[str, Any] | None:
            answer = admin.get("/audit/verify").json()
            seq = answer.get("checkpoint_seq")
            return answer if seq is not None and seq >= 3 else None

        return dict(eventually(signed, timeout=60))


def latest_of(checkpoints: Path, chain: str) -> dict[str, Any]:
    return dict(json.loads((checkpoints / chain / "latest.json").read_text()))


def export_and_cut(
    deployment: Path, gateway: GatewayProcess, elsewhere: Path, name: str
) -> tuple[str, list[str]]:
    """`audit export` run from elsewhere with `--config`; the export verified whole, then with
    its last 1, 2, ... rows cut off (every cut must fail). The verify output and the lines."""
    env = {k: v for k, v in gateway.env.items() if k != "FLUXROUTER_CONFIG"}
    config_file = str(deployment / "fluxrouter.yaml")
    out = elsewhere / f"{name}.jsonl"
    exported = run(["--config", config_file, "audit", "export", "--out", str(out)], elsewhere, env)
    assert exported.returncode == 0, exported.stderr
    assert not (elsewhere / "audit-checkpoints").exists()  # the config's directory, not the cwd
    assert not any(elsewhere.glob("*.key"))
    public = run(["--config", config_file, "audit", "public-key"], elsewhere, env)
    assert public.returncode == 0, public.stderr
    key = elsewhere / "audit-public.pem"
    key.write_text(public.stdout)
    shipped = str(deployment / "audit-checkpoints")
    verify = ["audit", "verify", "--public-key", str(key), "--checkpoint", shipped]
    whole = run([*verify, str(out)], elsewhere, env)
    assert whole.returncode == 0, whole.stderr
    lines = out.read_text().splitlines()
    assert json.loads(lines[-1])["checkpoint"]["seq"] == json.loads(lines[-2])["seq"]
    at_rows = [n for n, line in enumerate(lines) if "seq" in json.loads(line)]
    assert len(at_rows) >= 3
    cut = elsewhere / f"{name}-cut.jsonl"
    bare = ["audit", "verify", "--public-key", str(key)]
    for k in range(1, min(len(at_rows), 5)):  # the last k rows cut off, and all after them
        cut.write_text("\n".join(lines[: at_rows[-k]]) + "\n")
        for args in (verify, bare):  # with the shipped checkpoints, and with the file alone
            checked = run([*args, str(cut)], elsewhere, env)
            assert checked.returncode == 1, (k, args, checked.stdout, checked.stderr)
            assert "BROKEN at seq" in checked.stderr
    return whole.stdout, lines


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A brand-new PostgreSQL database (the session's is shared by the other tests' gateways)."""
    with postgres_database() as url:
        yield url


def test_embedded_then_production_in_one_directory_each_chain_keeps_its_checkpoints(
    upstream: FakeOpenAI, pg_url: str, tmp_path: Path
) -> None:
    deployment = tmp_path / "deployment"
    deployment.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    checkpoints = deployment / "audit-checkpoints"

    # `make run`: the embedded shape, SQLite in the directory (a path relative to the config)
    embedded = GatewayProcess(
        deployment,
        config("sqlite+aiosqlite:///fluxrouter.db", None, upstream),
        admin_key=ADMIN_KEY,
        upstream_key=UPSTREAM_KEY,
    )
    embedded.start()
    try:
        before = add_orgs_until_signed(embedded, "embedded", 4)
    finally:
        embedded.stop()
    assert before["ok"] is True, before
    first_chain = before["chain"]
    assert (deployment / "fluxrouter.db").exists()
    assert latest_of(checkpoints, first_chain)["chain"] == first_chain
    embedded_out, _ = export_and_cut(deployment, embedded, elsewhere, "embedded")
    assert f"chain: {first_chain}" in embedded_out
    first_latest = latest_of(checkpoints, first_chain)
    # without the configuration, from elsewhere: no key there, and none is made up to sign with
    bare = {k: v for k, v in embedded.env.items() if k != "FLUXROUTER_CONFIG"}
    keyless = run(["audit", "export", "--out", str(elsewhere / "x.jsonl")], elsewhere, bare)
    assert keyless.returncode == 2
    assert "cannot export: audit.signing_key_file" in keyless.stderr
    assert not any(elsewhere.glob("*.key"))

    # the README's production steps: PostgreSQL and Redis, the same directory and configuration
    with own_gateway(
        "postgres",
        deployment,
        functools.partial(config, upstream=upstream),
        database_url=pg_url,
        admin_key=ADMIN_KEY,
        upstream_key=UPSTREAM_KEY,
    ) as production:
        after = add_orgs_until_signed(production, "production", 3)
        assert after["ok"] is True, after
        chain = after["chain"]
        assert chain != first_chain
        assert after["head_seq"] >= after["checkpoint_seq"] >= 3
        assert any(first_chain in note for note in after["notes"])
        latest = latest_of(checkpoints, chain)
        assert latest["chain"] == chain
        with production.admin() as admin:  # and it goes on signing on the new chain
            for n in range(3):
                admin.post("/orgs", json={"name": f"more-{n}"})
            later = eventually(
                lambda: latest_of(checkpoints, chain)["seq"] > latest["seq"], timeout=60
            )
            assert later
            final = admin.get("/audit/verify", params={"full": "true"}).json()
        assert final["ok"] is True, final
        assert latest_of(checkpoints, first_chain) == first_latest  # left as it was
        production_out, lines = export_and_cut(deployment, production, elsewhere, "production")
        assert f"chain: {chain}" in production_out
        assert json.loads(lines[0])["export"]["chain"] == chain
        logs = production.logs()
        assert "rewritten" not in logs
        assert "audit.chain_broken" not in logs
