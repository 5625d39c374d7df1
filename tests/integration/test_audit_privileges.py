"""Two database roles: migrations run as the tables' owner, the gateway as a role that may read
and append to the audit log but never change, remove or truncate it, in the database itself."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.support.gateway import GatewayProcess
from tests.support.services import PG_ADMIN_DSN, postgres_database

pytestmark = pytest.mark.postgres

BIN = Path(sys.executable).parent


def _as_user(url: str, user: str) -> str:
    return make_url(url).set(username=user, password=None).render_as_string(hide_password=False)


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def app_role() -> Iterator[str]:
    """A LOGIN role of its own, dropped afterwards (with whatever it was granted)."""
    role = f"fluxrouter_app_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
    try:
        yield role
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture
def database(app_role: str) -> Iterator[str]:
    """A fresh database (dropped before the role is)."""
    with postgres_database("fluxrouter_priv") as url:
        yield url


def fluxrouter_migrate(app_url: str, migrate_url: str | None) -> subprocess.CompletedProcess[str]:
    """`fluxrouter migrate` with no configuration file, the URLs from the environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLUXROUTER_")}
    env["FLUXROUTER_DATABASE_URL"] = app_url
    if migrate_url is not None:
        env["FLUXROUTER_DATABASE_MIGRATE_URL"] = migrate_url
    return subprocess.run(
        [str(BIN / "fluxrouter"), "migrate"],
        env=env,
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_gateway_role_appends_to_the_audit_log_and_can_do_nothing_else_to_it(
    database: str, app_role: str, tmp_path: Path
) -> None:
    app_url = _as_user(database, app_role)
    done = fluxrouter_migrate(app_url, migrate_url=database)
    assert done.returncode == 0, done.stderr
    assert f"granted '{app_role}'" in done.stdout

    with psycopg.connect(_libpq(app_url), autocommit=True) as conn:
        assert conn.execute("SELECT current_user").fetchone() == (app_role,)
        conn.execute(
            "INSERT INTO audit_log (seq, ts, actor, action, target, data, prev_hash, hash) "
            "VALUES (1, '2026-11-23T19:00:00.000000Z', 'admin', 'org.create', 'org:o', '{}', "
            "%s, %s)",
            ("0" * 64, "f" * 64),
        )
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (1,)
        for statement in (
            "UPDATE audit_log SET actor = 'someone else'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
            "UPDATE audit_checkpoints SET hash = 'x'",
            "DELETE FROM audit_checkpoints",
            "TRUNCATE audit_checkpoints",
            "UPDATE alembic_version SET version_num = '0001'",
            "DROP TABLE audit_log",
            "ALTER TABLE audit_log DISABLE TRIGGER USER",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        # Everything else it needs, it has: the other tables are read and written as usual.
        conn.execute("INSERT INTO orgs (id, name, created_at) VALUES ('o', 'org', now())")
        conn.execute("UPDATE orgs SET name = 'renamed' WHERE id = 'o'")
        conn.execute("DELETE FROM orgs WHERE id = 'o'")
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (1,)

    # Migrating again (as `make run` does at every start) changes nothing of this.
    again = fluxrouter_migrate(app_url, migrate_url=database)
    assert again.returncode == 0, again.stderr
    with (
        psycopg.connect(_libpq(app_url), autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("DELETE FROM audit_log")


def test_the_gateway_serves_as_that_role(database: str, app_role: str, tmp_path: Path) -> None:
    assert fluxrouter_migrate(_as_user(database, app_role), migrate_url=database).returncode == 0
    admin_key = "fradm-" + secrets.token_urlsafe(32)
    config = {"database": {"url": _as_user(database, app_role)}, "logging": {"level": "info"}}
    gateway = GatewayProcess(tmp_path, config, admin_key=admin_key).start()
    try:
        with gateway.admin() as admin:
            org = admin.post("/orgs", json={"name": "served by the app role"})
            assert org.status_code in (200, 201), org.text
            rows = admin.get("/audit", params={"action": "org.create"}).json()["rows"]
            assert [row["target"] for row in rows] == [f"org:{org.json()['id']}"]
            verified = admin.get("/audit/verify").json()
            assert verified["ok"] is True, verified
    finally:
        gateway.stop()
    assert "permission denied" not in gateway.logs()


def test_a_gateway_role_that_owns_the_audit_log_is_refused(database: str, app_role: str) -> None:
    # One role did everything so far: it created (owns) the tables.
    with psycopg.connect(_libpq(database), autocommit=True) as conn:
        conn.execute(
            sql.SQL("GRANT CREATE ON SCHEMA public TO {}").format(sql.Identifier(app_role))
        )
    app_url = _as_user(database, app_role)
    assert fluxrouter_migrate(app_url, migrate_url=None).returncode == 0
    # Moving to two roles without handing the tables over is refused, saying why.
    refused = fluxrouter_migrate(app_url, migrate_url=database)
    assert refused.returncode == 1
    assert f"'{app_role}' owns audit_checkpoints, audit_log" in refused.stderr
    assert "OWNER TO" in refused.stderr
