"""Skills on evaluations: the levels of an evaluation's skills entered a column (or a
whole grid) at a time, and a pupil's skill summary (docs/skills.md). Frameworks:
``skill_frameworks.py``.

Entering levels works like entering marks (``actions/marks.py``): one transaction, every
cell checked first (one bad cell refuses all), only the cells that change written and
audited in ``marks_audit`` (change ``skill``), so sending the same levels again writes
nothing. The summary is served warm like the report card (``actions/report_cards.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import (
    access_evaluation_by_id,
    access_marks_group_by_id,
    access_skill_summary_by_pupil_id,
)
from preau.actions.context import Services
from preau.actions.marks import audit_row, group_pupils, in_term, write_audit
from preau.actions.marks_settings import chosen_term
from preau.actions.report_cards import announce, bump_marks
from preau.actions.skill_frameworks import load_frameworks
from preau.adapters.sql.schema import (
    enrolments,
    evaluation_skills,
    evaluations,
    skill_levels,
    skills,
)
from preau.domain.access import Action
from preau.domain.people import Actor
from preau.domain.skills import (
    AssessedEvaluation,
    Assessment,
    Level,
    LevelEntry,
    Skill,
    SkillsGrid,
    SkillsGridRow,
    SkillSummary,
    build_summary,
    checked_levels,
    level_of_rank,
)

Row = sa.Row[Any]


async def _evaluation_skills(
    connection: AsyncConnection, school_id: int, evaluation_id: int
) -> list[Skill]:
    rows = await connection.execute(
        sa.select(skills)
        .join(evaluation_skills, evaluation_skills.c.skill_id == skills.c.id)
        .where(
            evaluation_skills.c.school_id == school_id,
            evaluation_skills.c.evaluation_id == evaluation_id,
        )
        .order_by(evaluation_skills.c.position)
    )
    return [
        Skill(
            id=row.id,
            framework_id=row.framework_id,
            parent_id=row.parent_id,
            code=row.code,
            name=row.name,
            name_en=row.name_en,
            position=row.position,
            assessable=True,  # only assessable skills are linked (check_assessable)
        )
        for row in rows
    ]


async def _levels(
    connection: AsyncConnection,
    school_id: int,
    evaluation_id: int,
    places: Sequence[tuple[int, int]] | None = None,
) -> dict[tuple[int, int], Level]:
    """(skill id, pupil id) -> level on one evaluation."""
    query = sa.select(skill_levels).where(
        skill_levels.c.school_id == school_id, skill_levels.c.evaluation_id == evaluation_id
    )
    if places is not None:
        query = query.where(skill_levels.c.pupil_id.in_({pupil for _skill, pupil in places}))
    return {
        (row.skill_id, row.pupil_id): level_of_rank(row.level)
        for row in await connection.execute(query)
    }


async def skills_grid(services: Services, actor: Actor, evaluation_id: int) -> SkillsGrid:
    """An evaluation's levels, a column per skill and a row per pupil (its group's
    teachers, staff and administrators): a fixed number of queries."""
    async with services.engine.connect() as connection:
        row, teaches = await access_evaluation_by_id(connection, actor, evaluation_id, Action.READ)
        group, _teaches = await access_marks_group_by_id(
            connection, actor, row.group_id, Action.READ
        )
        columns = await _evaluation_skills(connection, actor.school_id, evaluation_id)
        pupils = await group_pupils(connection, actor.school_id, row.group_id)
        found = await _levels(connection, actor.school_id, evaluation_id)
    return SkillsGrid(
        evaluation_id=evaluation_id,
        group_id=row.group_id,
        group_name=group.name,
        title=row.title,
        subject=row.subject,
        day=row.day,
        skills=columns,
        rows=[
            SkillsGridRow(
                pupil_id=pupil_id,
                pupil_name=name,
                levels=[found.get((skill.id, pupil_id)) for skill in columns],
            )
            for pupil_id, name in pupils
        ],
        can_change=teaches,
    )


def _level_json(level: Level | None, skill_id: int) -> dict[str, Any] | None:
    return None if level is None else {"skill_id": skill_id, "level": level.value}


async def _write_levels(
    connection: AsyncConnection,
    actor: Actor,
    evaluation_id: int,
    wanted: Mapping[tuple[int, int], Level | None],
    *,
    now: datetime,
) -> int:
    """Set levels on one evaluation; only cells that differ are written and audited.
    Returns how many changed."""
    if not wanted:
        return 0
    current = await _levels(connection, actor.school_id, evaluation_id, list(wanted))
    audit: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for (skill_id, pupil_id), level in wanted.items():
        before = current.get((skill_id, pupil_id))
        if before == level:
            continue
        audit.append(
            audit_row(
                evaluation_id,
                "skill",
                _level_json(before, skill_id),
                _level_json(level, skill_id),
                pupil_id,
            )
        )
        where = (
            skill_levels.c.school_id == actor.school_id,
            skill_levels.c.evaluation_id == evaluation_id,
            skill_levels.c.skill_id == skill_id,
            skill_levels.c.pupil_id == pupil_id,
        )
        if level is None:
            await connection.execute(skill_levels.delete().where(*where))
        elif before is None:
            inserts.append(
                {
                    "school_id": actor.school_id,
                    "evaluation_id": evaluation_id,
                    "skill_id": skill_id,
                    "pupil_id": pupil_id,
                    "level": level.rank,
                    "updated_by": actor.person_id,
                    "updated_at": now,
                }
            )
        else:
            await connection.execute(
                skill_levels.update()
                .where(*where)
                .values(level=level.rank, updated_by=actor.person_id, updated_at=now)
            )
    if inserts:
        await connection.execute(skill_levels.insert(), inserts)
    await write_audit(connection, actor, audit, now=now)
    return len(audit)


async def enter_levels(
    services: Services, actor: Actor, evaluation_id: int, entries: Sequence[LevelEntry]
) -> int:
    """Enter levels on an evaluation's skills in one transaction (its group's teachers).
    Cells not sent stay as they are; an empty value clears one. Returns how many changed."""
    now = services.now()
    async with services.engine.begin() as connection:
        row, _teaches = await access_evaluation_by_id(
            connection, actor, evaluation_id, Action.CHANGE
        )
        columns = await _evaluation_skills(connection, actor.school_id, evaluation_id)
        pupils = await group_pupils(connection, actor.school_id, row.group_id)
        wanted = checked_levels(
            entries,
            pupils=(pupil for pupil, _name in pupils),
            skills=(skill.id for skill in columns),
        )
        changed = await _write_levels(connection, actor, evaluation_id, wanted, now=now)
        bumped: dict[str, int] = {}
        if changed:  # levels sent again change nothing, and keep the caches warm
            bumped = await bump_marks(connection, actor.school_id, [row.group_id], now=now)
    await announce(services, actor.school_id, bumped)
    return changed


async def assessed_evaluations(
    services: Services, actor: Actor, group_id: int, *, term_id: int | None = None
) -> list[AssessedEvaluation]:
    """The group's evaluations that assess skills in a term (by default the current one),
    for the readers of its grid."""
    async with services.engine.connect() as connection:
        await access_marks_group_by_id(connection, actor, group_id, Action.READ)
        term, _terms = await chosen_term(connection, services, actor.school_id, term_id)
        counted = sa.func.count(evaluation_skills.c.skill_id).label("skill_count")
        query = in_term(
            sa.select(
                evaluations.c.id,
                evaluations.c.title,
                evaluations.c.subject,
                evaluations.c.day,
                evaluations.c.marked,
                counted,
            )
            .join(evaluation_skills, evaluation_skills.c.evaluation_id == evaluations.c.id)
            .where(
                evaluations.c.school_id == actor.school_id,
                evaluations.c.group_id == group_id,
                evaluations.c.deleted_at.is_(None),
            )
            .group_by(
                evaluations.c.id,
                evaluations.c.title,
                evaluations.c.subject,
                evaluations.c.day,
                evaluations.c.marked,
            )
            .order_by(evaluations.c.day, evaluations.c.id),
            term,
        )
        rows = (await connection.execute(query)).all()
    return [
        AssessedEvaluation(
            evaluation_id=row.id,
            title=row.title,
            subject=row.subject,
            day=row.day,
            marked=bool(row.marked),
            skill_count=row.skill_count,
        )
        for row in rows
    ]


# -- a pupil's summary ---------------------------------------------------------------------


async def skill_summary(
    services: Services, actor: Actor, pupil_id: int, *, term_id: int | None = None
) -> SkillSummary:
    """A pupil's levels for one term (by default the current one), per framework, domain
    and skill; warm, with no SQL, while nothing it shows has changed."""

    async def load() -> SkillSummary:
        return await _skill_summary(services, actor, pupil_id, term_id=term_id)

    return await services.report_cards.read(
        services, kind="skills", actor=actor, pupil_id=pupil_id, term_id=term_id, load=load
    )


async def _skill_summary(
    services: Services, actor: Actor, pupil_id: int, *, term_id: int | None
) -> SkillSummary:
    async with services.engine.connect() as connection:
        pupil = await access_skill_summary_by_pupil_id(connection, actor, pupil_id)
        term, _terms = await chosen_term(connection, services, actor.school_id, term_id)
        frameworks = await load_frameworks(connection, actor.school_id)
        pupil_groups = sa.select(enrolments.c.group_id).where(
            enrolments.c.school_id == actor.school_id,
            enrolments.c.person_id == pupil_id,
            enrolments.c.role == "pupil",
        )
        query = in_term(
            sa.select(
                skill_levels.c.skill_id,
                skill_levels.c.level,
                evaluations.c.id,
                evaluations.c.title,
                evaluations.c.subject,
                evaluations.c.day,
            )
            .join(evaluations, evaluations.c.id == skill_levels.c.evaluation_id)
            .where(
                skill_levels.c.school_id == actor.school_id,
                skill_levels.c.pupil_id == pupil_id,
                evaluations.c.deleted_at.is_(None),
                evaluations.c.group_id.in_(pupil_groups),
            ),
            term,
        )
        assessments: dict[int, list[Assessment]] = {}
        for row in await connection.execute(query):
            assessments.setdefault(row.skill_id, []).append(
                Assessment(
                    evaluation_id=row.id,
                    title=row.title,
                    subject=row.subject,
                    day=row.day,
                    level=level_of_rank(row.level),
                )
            )
    return build_summary(
        pupil_id=pupil_id,
        pupil_name=f"{pupil.given_name} {pupil.family_name}",
        term_id=term.id if term else None,
        term_name=term.name if term else None,
        frameworks=frameworks,
        assessments=assessments,
    )
