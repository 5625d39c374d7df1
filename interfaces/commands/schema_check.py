"""Whether a database is at the latest migration, read without alembic: `serve` checks it at
each start, and importing alembic costs more than the rest of that check (it loads mako and,
where pygments is installed, pygments' lexers). Where this cannot tell, alembic is run."""

from __future__ import annotations

import ast
from importlib.resources import files

from sqlalchemy import text

from infrastructure.db.engine import create_sync_engine


def head_revisions() -> set[str]:
    """The revisions of `migrations/versions` no other revision follows (alembic's heads)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for script in files("migrations").joinpath("versions").iterdir():
        if not script.name.endswith(".py") or script.name.startswith("__"):
            continue
        assigned = {
            target.id: node.value
            for node in ast.parse(script.read_text(encoding="utf-8")).body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        }
        revision = ast.literal_eval(assigned["revision"])
        down = ast.literal_eval(assigned.get("down_revision", ast.Constant(None)))
        revisions.add(str(revision))
        if isinstance(down, str):
            followed.add(down)
        elif isinstance(down, tuple | list):  # a merge
            followed.update(str(one) for one in down)
    return revisions - followed


def at_head(url: str) -> bool:
    """True when the database records exactly the latest revisions; False when it may need
    migrating, or when anything about it is unexpected (no version table, a script this cannot
    read): alembic then decides."""
    try:
        heads = head_revisions()
        engine = create_sync_engine(url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text("SELECT version_num FROM alembic_version"))
                found = {str(row[0]) for row in rows}
        finally:
            engine.dispose()
    except Exception:
        return False
    return bool(heads) and found == heads
