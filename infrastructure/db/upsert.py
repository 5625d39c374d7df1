"""INSERT … ON CONFLICT for the dialect at hand (PostgreSQL and SQLite share the syntax)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect


def insert_for(dialect: Dialect, table: Table) -> Any:
    module = postgresql if dialect.name == "postgresql" else sqlite
    return module.insert(table)
