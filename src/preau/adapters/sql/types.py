"""Column types shared by the tables: ``UTCDateTime``, so every stored moment reads back
as an aware UTC datetime, on SQLite (which keeps no zone) as on PostgreSQL.

A moment stored outside the years 2000 to 2100 (the school range every input is now held
to, ``domain/bounds.py``; older rows may hold a typo such as year 9999) reads back as the
nearest edge of that range, so no later conversion to a school's zone can overflow and
one bad row cannot break the pages that show it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 12, 31, 23, 59, 59, tzinfo=UTC)


def within_range(value: datetime) -> datetime:
    if EARLIEST.year <= value.year <= LATEST.year:
        return value
    return EARLIEST if value < EARLIEST else LATEST


class _SQLiteUTCDateTime(sqlite.DATETIME):
    """SQLite's text timestamps, parsed straight into aware UTC datetimes: the to-do and
    inbox reads parse many, and ``datetime.replace`` would cost several parses each."""

    def result_processor(self, dialect: sa.Dialect, coltype: object) -> Any:
        def process(value: str | None) -> datetime | None:
            return None if value is None else within_range(datetime.fromisoformat(value + "+00:00"))

        return process


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A moment: stored in UTC, read back aware in UTC. A naive datetime is refused on
    the way in, since nobody could tell which zone it meant."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            # sqlite.DATETIME.__init__ carries no annotations.
            return _SQLiteUTCDateTime()  # type: ignore[no-untyped-call]  # the library's own function carries no annotations
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:  # services.now() and the like
            return value
        if value.utcoffset() is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} for a UTCDateTime column: pass an "
                "aware one (services.now(), or datetime(..., tzinfo=UTC))"
            )
        # SQLite keeps the wall-clock digits and drops the offset: store them in UTC.
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return value
        if value.tzinfo is UTC:  # asyncpg, and SQLite above
            return within_range(value)
        return within_range(value.astimezone(UTC))  # another driver's zone, say
