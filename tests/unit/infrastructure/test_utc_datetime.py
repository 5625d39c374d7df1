"""`UtcDateTime` on SQLite binds in one step the very text SQLAlchemy's own chain (this type's
`process_bind_param`, then SQLite's `DATETIME`) binds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import DATETIME

from infrastructure.db.types import UtcDateTime

DIALECT = sqlite.dialect()


def chained(value: datetime) -> str:
    """What SQLAlchemy's chain binds: this type's step, then the dialect's."""
    naive = UtcDateTime().process_bind_param(value, DIALECT)
    processor = DATETIME().bind_processor(DIALECT)
    assert processor is not None
    return str(processor(naive))


@pytest.mark.parametrize(
    "value",
    [
        datetime(2025, 3, 4, 5, 6, 7, 890123, tzinfo=UTC),
        datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC),  # no microseconds: still written
        datetime(1, 1, 1, tzinfo=UTC),  # a year below 1000: zero-padded
        datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2025, 6, 1, 0, 30, tzinfo=timezone(timedelta(hours=2, minutes=30))),
        datetime.now(UTC),
    ],
)
def test_sqlite_binds_the_text_of_sqlalchemys_chain(value: datetime) -> None:
    processor = UtcDateTime().bind_processor(DIALECT)
    assert processor is not None
    assert processor(value) == chained(value)


def test_sqlite_binds_none_and_refuses_a_naive_datetime() -> None:
    processor = UtcDateTime().bind_processor(DIALECT)
    assert processor is not None
    assert processor(None) is None
    with pytest.raises(ValueError, match="naive"):
        processor(datetime(2025, 1, 1))
