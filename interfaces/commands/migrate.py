"""`fluxrouter migrate`, and the migration `serve` runs before it starts."""

from __future__ import annotations

import sys

from infrastructure.settings import Settings


def migrate(settings: Settings, *, unless_at_head: bool = False) -> str | None:
    """Upgrade the schema as `database.migrate_url`'s user; when `database.url` names another
    PostgreSQL user, grant it its privileges (returned: that user). `unless_at_head`: alembic
    is not even imported when the database is at the latest migration already (`serve`)."""
    from interfaces.commands.schema_check import at_head
    from migrations.privileges import PrivilegeError, grant_app_privileges

    url = settings.database.migration_url
    if not (unless_at_head and at_head(url)):
        from migrations.runner import upgrade

        upgrade(url)
    try:
        return grant_app_privileges(url, settings.database.url)
    except PrivilegeError as error:
        print(f"fluxrouter: migrate: {error}", file=sys.stderr)
        raise SystemExit(1) from None
