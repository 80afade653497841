"""Migration 0006 gives the schools that exist the socle commun (SQLite, a database of its
own; schools created later get it from ``seed_socle``, tested in test_skills_http.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from preau.adapters.sql.engine import make_engine, migrate
from preau.adapters.sql.schema import schools, skill_frameworks, skills


async def test_schools_that_exist_get_the_socle_commun(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'before.sqlite3'}")
    try:
        await migrate(engine, "0005")
        async with engine.begin() as connection:
            await connection.execute(
                schools.insert(),
                [
                    {"uai": uai, "name": uai, "created_at": datetime(2026, 9, 1, tzinfo=UTC)}
                    for uai in ("0750001A", "0750002B")
                ],
            )
        await migrate(engine)
        async with engine.connect() as connection:
            frameworks = (
                await connection.execute(
                    sa.select(skill_frameworks.c.school_id, skill_frameworks.c.name_en).where(
                        skill_frameworks.c.built_in
                    )
                )
            ).all()
            per_school = (
                await connection.execute(
                    sa.select(skills.c.school_id, sa.func.count()).group_by(skills.c.school_id)
                )
            ).all()
            children = (
                await connection.execute(
                    sa.select(skills.c.code).where(skills.c.parent_id.is_not(None))
                )
            ).scalars()
            assert sorted(set(children)) == ["1.1", "1.2", "1.3", "1.4"]
        assert len(frameworks) == 2
        assert {name for _school, name in frameworks} == {
            "Common core of knowledge, skills and culture"
        }
        assert sorted(count for _school, count in per_school) == [9, 9]
    finally:
        await engine.dispose()
