"""Alembic environment: the URL comes from `fluxrouter migrate` (config.attributes)."""

from __future__ import annotations

from alembic import context

from infrastructure.db.engine import create_sync_engine, is_sqlite
from infrastructure.db.tables import metadata

config = context.config
url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
if not url:
    raise SystemExit("migrations: no database URL given")

engine = create_sync_engine(url)
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=is_sqlite(url),
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
