from sqlalchemy import Column, String, Table, Text

from infrastructure.db.tables.meta import metadata

system_settings = Table(
    "system_settings",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text(), nullable=False),
)
