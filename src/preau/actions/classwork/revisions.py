"""A homework item's history: one snapshot per change (created, edited, deleted), and reading
them back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_homework_by_id
from preau.actions.context import Services
from preau.adapters.sql.schema import homework_revisions
from preau.domain.access import Action
from preau.domain.classwork import CheckedHomework
from preau.domain.people import Actor


def _snapshot(checked: CheckedHomework, attachment_ids: list[str]) -> dict[str, object]:
    return {
        "title": checked.title,
        "instructions": checked.instructions,
        "instructions_format": checked.instructions_format.value,
        "publish_at": checked.publish_at.isoformat(),
        "due_at": checked.due_at.isoformat(),
        "cutoff_at": checked.cutoff_at.isoformat() if checked.cutoff_at else None,
        "estimated_minutes": checked.estimated_minutes,
        "hand_in_expected": checked.hand_in_expected,
        "subject": checked.subject,
        "attachment_ids": attachment_ids,
    }


async def record_revision(
    connection: AsyncConnection,
    actor: Actor,
    homework_id: int,
    *,
    revision: int,
    change: str,
    checked: CheckedHomework,
    attachment_ids: list[str],
    now: datetime,
) -> None:
    await connection.execute(
        homework_revisions.insert().values(
            school_id=actor.school_id,
            homework_id=homework_id,
            revision=revision,
            change=change,
            editor_id=actor.person_id,
            changed_at=now,
            snapshot=_snapshot(checked, attachment_ids),
        )
    )


class RevisionView(msgspec.Struct, kw_only=True):
    revision: int
    change: str
    editor_id: int
    changed_at: datetime
    snapshot: dict[str, Any]


async def homework_revisions_of(
    services: Services, actor: Actor, homework_id: int
) -> list[RevisionView]:
    now = services.now()
    async with services.engine.connect() as connection:
        await access_homework_by_id(connection, actor, homework_id, Action.READ, now=now)
        rows = await connection.execute(
            sa.select(homework_revisions)
            .where(
                homework_revisions.c.school_id == actor.school_id,
                homework_revisions.c.homework_id == homework_id,
            )
            .order_by(homework_revisions.c.revision)
        )
        return [
            RevisionView(
                revision=row.revision,
                change=row.change,
                editor_id=row.editor_id,
                changed_at=row.changed_at,
                snapshot=row.snapshot,
            )
            for row in rows
        ]
