"""Extensions: one pupil's later due time (and cut-off) for a homework, given or taken away."""

from __future__ import annotations

from preau.actions.access import access_hand_in_by_id
from preau.actions.classwork.hand_ins import hand_in_view
from preau.actions.classwork.todo import pupil_scope
from preau.actions.context import Services
from preau.actions.warm import bump_versions
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import homework_extensions
from preau.domain.classwork import ExtensionDraft, HandInRight, HandInView, in_utc
from preau.domain.errors import InvalidInput
from preau.domain.people import Actor


async def grant_extension(
    services: Services,
    actor: Actor,
    homework_id: int,
    pupil_id: int,
    *,
    draft: ExtensionDraft | None,
) -> HandInView:
    """Give one pupil a later due time (and cut-off); ``None`` removes the extension."""
    now = services.now()
    async with services.engine.begin() as connection:
        work, _row = await access_hand_in_by_id(
            connection, actor, homework_id, pupil_id, HandInRight.REVIEW, now=now
        )
        zone = await school_zone(services, actor.school_id, connection)
        await connection.execute(
            homework_extensions.delete().where(
                homework_extensions.c.school_id == actor.school_id,
                homework_extensions.c.homework_id == homework_id,
                homework_extensions.c.pupil_id == pupil_id,
            )
        )
        if draft is not None:
            due = in_utc(draft.due_at, zone)
            cutoff = in_utc(draft.cutoff_at, zone) if draft.cutoff_at else None
            if due <= work.due_at:
                raise InvalidInput(
                    "An extension must end after the homework's due time.", field="due_at"
                )
            if cutoff is not None and cutoff < due:
                raise InvalidInput(
                    "The cut-off cannot come before the due time.", field="cutoff_at"
                )
            await connection.execute(
                homework_extensions.insert().values(
                    school_id=actor.school_id,
                    homework_id=homework_id,
                    pupil_id=pupil_id,
                    due_at=due,
                    cutoff_at=cutoff,
                    granted_by=actor.person_id,
                    granted_at=now,
                )
            )
        versions = await bump_versions(
            connection, actor.school_id, [pupil_scope(pupil_id)], now=now
        )
        view = await hand_in_view(connection, work, pupil_id, now=now)
    await services.versions.announce(actor.school_id, versions)
    return view
