"""The storage contract, on SQLite and PostgreSQL: the migrations build exactly the tables
the code describes, every tenant table carries ``school_id``, and constraints hold."""

from __future__ import annotations

from datetime import UTC, datetime

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
