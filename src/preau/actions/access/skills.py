"""Skills: a school's frameworks and a pupil's skill summary (docs/skills.md). Levels
belong to an evaluation: they are read and entered through ``access_evaluation_by_id``
and ``access_marks_group_by_id`` (:mod:`.marks`)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.core import enforce
from preau.actions.access.marks import marks_refusal, pupil_facts
from preau.adapters.sql.schema import skill_frameworks
from preau.domain.access import Action, skill_framework_decision, skill_summary_decision
from preau.domain.errors import NotFound
from preau.domain.marks import PUPIL_NOT_FOUND
from preau.domain.people import Actor
from preau.domain.skills import BUILT_IN, FRAMEWORK_NOT_FOUND, ONLY_ADMINS


def access_skill_frameworks(actor: Actor, action: Action) -> None:
    """The school's frameworks as a whole: read them all, or add one (administrators)."""
    decision = skill_framework_decision(actor, action, school_id=actor.school_id, built_in=False)
    enforce(decision, FRAMEWORK_NOT_FOUND, ONLY_ADMINS)


async def access_skill_framework_by_id(
    connection: AsyncConnection, actor: Actor, framework_id: int, action: Action
) -> sa.Row[tuple[object, ...]]:
    """A framework the actor may read, or change (add skills to: not the socle commun)."""
    row = (
        await connection.execute(
            sa.select(skill_frameworks).where(
                skill_frameworks.c.id == framework_id,
                skill_frameworks.c.school_id == actor.school_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(FRAMEWORK_NOT_FOUND, field="framework_id")
    decision = skill_framework_decision(
        actor, action, school_id=row.school_id, built_in=bool(row.built_in)
    )
    refusal = BUILT_IN if row.built_in else ONLY_ADMINS
    enforce(decision, FRAMEWORK_NOT_FOUND, refusal)
    return row


async def access_skill_summary_by_pupil_id(
    connection: AsyncConnection, actor: Actor, pupil_id: int
) -> sa.Row[tuple[object, ...]]:
    """The pupil whose skill summary the actor may read (see ``skill_summary_decision``)."""
    row, is_child, teaches_pupil = await pupil_facts(connection, actor, pupil_id)
    if row is None:
        raise NotFound(PUPIL_NOT_FOUND, field="pupil_id")
    decision = skill_summary_decision(
        actor,
        pupil_id=pupil_id,
        pupil_school_id=row.school_id,
        is_child_of_actor=is_child,
        teaches_pupil=teaches_pupil,
    )
    enforce(decision, PUPIL_NOT_FOUND, marks_refusal(actor))
    return row
