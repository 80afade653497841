"""A school's skill frameworks: the socle commun every school is given when created
(:func:`seed_socle`), the frameworks and skills its administrators add, and the skills an
evaluation assesses (docs/skills.md). Levels and summaries: ``actions/skills.py``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_skill_framework_by_id, access_skill_frameworks
from preau.actions.context import Services
from preau.actions.report_cards import announce, bump_marks
from preau.adapters.sql.schema import evaluation_skills, skill_frameworks, skill_levels, skills
from preau.domain.access import Action
from preau.domain.errors import InvalidInput
from preau.domain.people import Actor
from preau.domain.skills import (
    SKILL_NOT_FOUND,
    SOCLE_COMMUN,
    Framework,
    FrameworkDraft,
    Skill,
    SkillDraft,
    check_framework,
    check_skill,
    ordered_skills,
)
from preau.i18n import lazy

Row = sa.Row[Any]

NOT_A_DOMAIN = lazy("A skill goes under a domain of the same framework, not under a skill.")
ONLY_SKILLS = lazy(
    "Skill number {skill_id} cannot be assessed: choose a skill, or a domain with no "
    "skill under it."
)
LEVELS_GIVEN = lazy(
    "Levels were given on the skill “{code}” in this evaluation: clear them before "
    "removing the skill."
)


async def seed_socle(connection: AsyncConnection, school_id: int, *, now: datetime) -> None:
    """Give a new school the socle commun (the migration gave it to the schools that
    existed then). Nothing happens if the school has it already."""
    found = (
        await connection.execute(
            sa.select(skill_frameworks.c.id).where(
                skill_frameworks.c.school_id == school_id,
                skill_frameworks.c.code == SOCLE_COMMUN.code,
            )
        )
    ).first()
    if found is not None:
        return
    framework_id = (
        await connection.execute(
            skill_frameworks.insert()
            .values(
                school_id=school_id,
                code=SOCLE_COMMUN.code,
                name=SOCLE_COMMUN.name,
                name_en=SOCLE_COMMUN.name_en,
                built_in=True,
                created_at=now,
            )
            .returning(skill_frameworks.c.id)
        )
    ).scalar_one()
    for position, domain in enumerate(SOCLE_COMMUN.domains, start=1):
        domain_id = (
            await connection.execute(
                skills.insert()
                .values(
                    school_id=school_id,
                    framework_id=framework_id,
                    code=domain.code,
                    name=domain.name,
                    name_en=domain.name_en,
                    position=position,
                )
                .returning(skills.c.id)
            )
        ).scalar_one()
        if domain.children:
            await connection.execute(
                skills.insert(),
                [
                    {
                        "school_id": school_id,
                        "framework_id": framework_id,
                        "parent_id": domain_id,
                        "code": skill.code,
                        "name": skill.name,
                        "name_en": skill.name_en,
                        "position": inner,
                    }
                    for inner, skill in enumerate(domain.children, start=1)
                ],
            )


# -- reading -------------------------------------------------------------------------------


async def load_frameworks(connection: AsyncConnection, school_id: int) -> list[Framework]:
    """The school's frameworks (the socle commun first), each with its domains and skills:
    two queries."""
    rows = (
        await connection.execute(
            sa.select(skill_frameworks)
            .where(skill_frameworks.c.school_id == school_id)
            .order_by(skill_frameworks.c.built_in.desc(), skill_frameworks.c.id)
        )
    ).all()
    found = (
        await connection.execute(sa.select(skills).where(skills.c.school_id == school_id))
    ).all()
    parents = {row.parent_id for row in found if row.parent_id is not None}
    by_framework: dict[int, list[Skill]] = {}
    for row in found:
        by_framework.setdefault(row.framework_id, []).append(
            Skill(
                id=row.id,
                framework_id=row.framework_id,
                parent_id=row.parent_id,
                code=row.code,
                name=row.name,
                name_en=row.name_en,
                position=row.position,
                assessable=row.id not in parents,
            )
        )
    return [
        Framework(
            id=row.id,
            code=row.code,
            name=row.name,
            name_en=row.name_en,
            built_in=bool(row.built_in),
            skills=ordered_skills(by_framework.get(row.id, [])),
        )
        for row in rows
    ]


async def list_frameworks(services: Services, actor: Actor) -> list[Framework]:
    access_skill_frameworks(actor, Action.READ)
    async with services.engine.connect() as connection:
        return await load_frameworks(connection, actor.school_id)


# -- a school's own frameworks (administrators) ------------------------------------------


async def create_framework(services: Services, actor: Actor, draft: FrameworkDraft) -> Framework:
    access_skill_frameworks(actor, Action.CHANGE)
    draft = check_framework(draft)
    now = services.now()
    async with services.engine.begin() as connection:
        framework_id = (
            await connection.execute(
                skill_frameworks.insert()
                .values(
                    school_id=actor.school_id,
                    name=draft.name,
                    name_en=draft.name_en,
                    built_in=False,
                    created_at=now,
                )
                .returning(skill_frameworks.c.id)
            )
        ).scalar_one()
        frameworks = await load_frameworks(connection, actor.school_id)
    return next(framework for framework in frameworks if framework.id == framework_id)


async def add_skill(
    services: Services, actor: Actor, framework_id: int, draft: SkillDraft
) -> Framework:
    """Add a domain, or a skill under one of the framework's domains."""
    draft = check_skill(draft)
    now = services.now()
    async with services.engine.begin() as connection:
        await access_skill_framework_by_id(connection, actor, framework_id, Action.CHANGE)
        siblings = sa.select(sa.func.count()).where(
            skills.c.school_id == actor.school_id, skills.c.framework_id == framework_id
        )
        if draft.parent_id is not None:
            parent = (
                await connection.execute(
                    sa.select(skills.c.parent_id).where(
                        skills.c.school_id == actor.school_id,
                        skills.c.framework_id == framework_id,
                        skills.c.id == draft.parent_id,
                    )
                )
            ).first()
            if parent is None or parent.parent_id is not None:
                raise InvalidInput(NOT_A_DOMAIN, field="parent_id")
            siblings = siblings.where(skills.c.parent_id == draft.parent_id)
        else:
            siblings = siblings.where(skills.c.parent_id.is_(None))
        position = int((await connection.execute(siblings)).scalar_one()) + 1
        await connection.execute(
            skills.insert().values(
                school_id=actor.school_id,
                framework_id=framework_id,
                parent_id=draft.parent_id,
                code=draft.code,
                name=draft.name,
                name_en=draft.name_en,
                position=position,
            )
        )
        bumped = await bump_marks(connection, actor.school_id, now=now, whole_school=True)
        frameworks = await load_frameworks(connection, actor.school_id)
    await announce(services, actor.school_id, bumped)
    return next(framework for framework in frameworks if framework.id == framework_id)


# -- the skills of an evaluation -----------------------------------------------------------


async def check_assessable(
    connection: AsyncConnection, school_id: int, skill_ids: Sequence[int]
) -> None:
    """Every skill exists in the school and can be assessed (is not a domain with skills
    under it)."""
    if not skill_ids:
        return
    found = {
        row.id
        for row in await connection.execute(
            sa.select(skills.c.id).where(
                skills.c.school_id == school_id, skills.c.id.in_(skill_ids)
            )
        )
    }
    domains = {
        row.parent_id
        for row in await connection.execute(
            sa.select(skills.c.parent_id).where(
                skills.c.school_id == school_id, skills.c.parent_id.in_(skill_ids)
            )
        )
    }
    for skill_id in skill_ids:
        if skill_id not in found:
            raise InvalidInput(SKILL_NOT_FOUND, field="skill_ids")
        if skill_id in domains:
            raise InvalidInput(ONLY_SKILLS, field="skill_ids", skill_id=skill_id)


async def evaluation_skill_ids(
    connection: AsyncConnection, school_id: int, evaluation_id: int
) -> list[int]:
    rows = await connection.execute(
        sa.select(evaluation_skills.c.skill_id)
        .where(
            evaluation_skills.c.school_id == school_id,
            evaluation_skills.c.evaluation_id == evaluation_id,
        )
        .order_by(evaluation_skills.c.position)
    )
    return [int(row.skill_id) for row in rows]


async def set_evaluation_skills(
    connection: AsyncConnection, school_id: int, evaluation_id: int, skill_ids: Sequence[int]
) -> None:
    """Replace the skills an evaluation assesses (checked with :func:`check_assessable`);
    a skill that already has levels cannot be removed."""
    current = await evaluation_skill_ids(connection, school_id, evaluation_id)
    removed = set(current) - set(skill_ids)
    if removed:
        given = (
            await connection.execute(
                sa.select(skills.c.code)
                .join(skill_levels, skill_levels.c.skill_id == skills.c.id)
                .where(
                    skill_levels.c.school_id == school_id,
                    skill_levels.c.evaluation_id == evaluation_id,
                    skill_levels.c.skill_id.in_(removed),
                )
                .limit(1)
            )
        ).first()
        if given is not None:
            raise InvalidInput(LEVELS_GIVEN, field="skill_ids", code=given.code)
    await connection.execute(
        evaluation_skills.delete().where(
            evaluation_skills.c.school_id == school_id,
            evaluation_skills.c.evaluation_id == evaluation_id,
        )
    )
    if skill_ids:
        await connection.execute(
            evaluation_skills.insert(),
            [
                {
                    "school_id": school_id,
                    "evaluation_id": evaluation_id,
                    "skill_id": skill_id,
                    "position": position,
                }
                for position, skill_id in enumerate(skill_ids, start=1)
            ],
        )
