"""The storage contract, on SQLite and PostgreSQL: the migrations build exactly the tables
the code describes, every tenant table carries ``school_id``, and constraints hold."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.adapters.sql.schema import metadata, people, schools

# Tables that are not one school's data: the schools themselves, and operator reports.
NOT_TENANT = {"schools", "roster_imports", "alembic_version"}


async def test_migrations_match_the_schema(engine: AsyncEngine) -> None:
    def differences(connection: sa.Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []


def test_every_tenant_table_has_a_school() -> None:
    for table in metadata.sorted_tables:
        if table.name not in NOT_TENANT:
            assert "school_id" in table.c, table.name
            assert not table.c.school_id.nullable, table.name


async def test_usernames_are_unique_across_schools(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as connection:
        for uai in ("0750001A", "0750002B"):
            await connection.execute(schools.insert().values(uai=uai, name=uai, created_at=now))
        row = {
            "profile": "pupil",
            "username": "lea.martin",
            "given_name": "Léa",
            "family_name": "Martin",
            "created_at": now,
            "updated_at": now,
        }
        await connection.execute(people.insert().values(school_id=1, **row))
    with pytest.raises(IntegrityError):
        async with engine.begin() as connection:
            await connection.execute(people.insert().values(school_id=2, **row))


async def test_timestamps_come_back_as_the_same_instant(engine: AsyncEngine) -> None:
    moment = datetime(2021, 4, 6, 8, 0, 0, 123000, tzinfo=UTC)
    async with engine.begin() as connection:
        await connection.execute(
            schools.insert().values(uai="0750003C", name="C", created_at=moment)
        )
        stored = (await connection.execute(sa.select(schools.c.created_at))).scalar_one()
    assert stored.replace(tzinfo=stored.tzinfo or UTC) == moment


async def test_timestamps_are_stored_in_utc_and_read_back_aware(engine: AsyncEngine) -> None:
    reunion = ZoneInfo("Indian/Reunion")  # UTC+4: SQLite keeps no offset, only the digits
    moment = datetime(2021, 4, 6, 12, 0, tzinfo=reunion)
    async with engine.begin() as connection:
        await connection.execute(
            schools.insert().values(uai="0750004D", name="D", created_at=moment)
        )
        stored = (await connection.execute(sa.select(schools.c.created_at))).scalar_one()
        latest = (
            await connection.execute(sa.select(sa.func.max(schools.c.created_at)))
        ).scalar_one()
        earlier = (
            await connection.execute(
                sa.select(sa.func.count()).where(
                    schools.c.created_at < datetime(2021, 4, 6, 11, 0, tzinfo=reunion)
                )
            )
        ).scalar_one()
    assert (stored, stored.tzinfo, stored.hour) == (moment, UTC, 8)
    assert latest.tzinfo is UTC
    assert earlier == 0  # 08:00 UTC is after 11:00 in Réunion (07:00 UTC)


async def test_a_naive_timestamp_is_refused(engine: AsyncEngine) -> None:
    naive = datetime(2021, 4, 6, 8, 0)  # noqa: DTZ001  # the mistake under test
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        async with engine.begin() as connection:
            await connection.execute(
                schools.insert().values(uai="0750005E", name="E", created_at=naive)
            )
    async with engine.connect() as connection:
        assert (await connection.execute(sa.select(sa.func.count(schools.c.id)))).scalar() == 0
