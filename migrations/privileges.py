"""The gateway's database role, when it is not the one migrations run as (PostgreSQL).

Migrations run as `database.migrate_url`'s user, which owns the tables; the gateway connects
as `database.url`'s. After upgrading, `grant_app_privileges` sets the gateway user's privileges
on FluxRouter's tables to exactly what it needs: SELECT, INSERT, UPDATE and DELETE on every
table, but only SELECT and INSERT on the append-only audit tables and only SELECT on alembic's
version table; USAGE on the tables' sequences. Whoever holds the gateway's credentials can then
append to the audit log, never change or remove a row of it, whatever the triggers say.
"""

from __future__ import annotations

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from infrastructure.db.engine import create_sync_engine, is_sqlite
from infrastructure.db.tables import metadata

APPEND_ONLY_TABLES = ("audit_log", "audit_checkpoints")
READ_ONLY_TABLES = ("alembic_version",)
READ_WRITE = "SELECT, INSERT, UPDATE, DELETE"
GRANT_LOCK_ID = 0x46_4C_58_47_52_4E  # "FLXGRN": one migrate at a time grants


class PrivilegeError(Exception):
    """The gateway's user cannot be held to these privileges; the message says why."""


def grant_app_privileges(migrate_url: str, app_url: str) -> str | None:
    """Grant `app_url`'s user its privileges, connected as `migrate_url`'s; return that user,
    or None when there is nothing to do (SQLite, one URL, or both name the same user)."""
    if migrate_url == app_url or is_sqlite(migrate_url) or is_sqlite(app_url):
        return None
    app_user = make_url(app_url).username or _current_user(app_url)
    engine = create_sync_engine(migrate_url, pool_size=1)
    try:
        with engine.begin() as conn:
            if app_user == conn.execute(text("SELECT current_user")).scalar_one():
                return None
            # Replicas starting together would otherwise race on the same catalog rows.
            conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": GRANT_LOCK_ID})
            _check_role(conn, app_user)
            _grant(conn, app_user)
    finally:
        engine.dispose()
    return app_user


def _current_user(url: str) -> str:
    """The user a URL without one connects as (libpq's defaults: PGUSER, the login name)."""
    engine = create_sync_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT current_user")).scalar_one())
    finally:
        engine.dispose()


def _check_role(conn: Connection, user: str) -> None:
    role = conn.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :user"), {"user": user}
    ).first()
    if role is None:
        raise PrivilegeError(f"database.url's user {user!r} does not exist in the database")
    if role.rolsuper:
        raise PrivilegeError(
            f"database.url's user {user!r} is a superuser: no privilege can be taken from it; "
            "connect the gateway as an ordinary role"
        )
    owners = conn.execute(
        text(
            "SELECT c.relname FROM pg_class c WHERE c.oid = ANY(CAST(:tables AS regclass[])) "
            "AND pg_has_role(:user, c.relowner, 'MEMBER')"
        ),
        {"tables": _existing(conn, APPEND_ONLY_TABLES), "user": user},
    ).scalars()
    if owned := sorted(owners):
        raise PrivilegeError(
            f"database.url's user {user!r} owns {', '.join(owned)} (or is a member of its "
            "owner), so it could change or drop the audit log: make database.migrate_url's user "
            "the owner (ALTER TABLE … OWNER TO) and connect the gateway as another role"
        )


def _grant(conn: Connection, user: str) -> None:
    quote = conn.dialect.identifier_preparer.quote
    role = quote(user)
    schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
    tables = _existing(conn, (*metadata.tables, *APPEND_ONLY_TABLES, *READ_ONLY_TABLES))
    if not conn.execute(
        text("SELECT has_schema_privilege(:user, :schema, 'USAGE')"),
        {"user": user, "schema": schema},
    ).scalar_one():
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {quote(schema)} TO {role}")
    for table in tables:
        conn.exec_driver_sql(f"REVOKE ALL ON TABLE {quote(table)} FROM {role}")
        if table in APPEND_ONLY_TABLES:
            granted = "SELECT, INSERT"
        elif table in READ_ONLY_TABLES:
            granted = "SELECT"
        else:
            granted = READ_WRITE
        conn.exec_driver_sql(f"GRANT {granted} ON TABLE {quote(table)} TO {role}")
    sequences = conn.execute(
        text(
            "SELECT DISTINCT s.relname FROM pg_class s "
            "JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid "
            "AND d.refobjid = ANY(CAST(:tables AS regclass[])) "
            "WHERE s.relkind = 'S' ORDER BY s.relname"
        ),
        {"tables": tables},
    ).scalars()
    for sequence in sequences:
        conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE {quote(sequence)} TO {role}")


def _existing(conn: Connection, names: tuple[str, ...]) -> list[str]:
    """Those of `names` that are tables in the current schema, in order, once each."""
    found = set(
        conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND tablename = ANY(:names)"
            ),
            {"names": list(names)},
        ).scalars()
    )
    return sorted(found)
