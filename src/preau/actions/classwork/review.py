"""The teacher's answer to a hand-in: returned (with feedback and a mark), missing, excused,
or set back to assigned."""

from __future__ import annotations

from preau.actions.access import access_hand_in_by_id
from preau.actions.classwork.hand_ins import hand_in_row, hand_in_view, record_event
from preau.actions.classwork.todo import pupil_scope
from preau.actions.context import Services
from preau.actions.marks import mark_from_hand_in
from preau.actions.warm import bump_versions
from preau.adapters.sql.schema import hand_ins
from preau.domain.classwork import (
    HandInAction,
    HandInRight,
    HandInState,
    HandInView,
    Review,
    check_review,
    next_state,
)
from preau.domain.errors import Forbidden
from preau.domain.people import Actor


async def review_hand_in(
    services: Services,
    actor: Actor,
    homework_id: int,
    pupil_id: int,
    *,
    action: HandInAction,
    review: Review | None = None,
) -> HandInView:
    """The teacher returns work (with feedback and a mark), marks it missing or excused,
    or sets it back to assigned."""
    if action in (HandInAction.TURN_IN, HandInAction.TAKE_BACK):
        raise Forbidden("Only a teacher of this class or group can do this.")
    checked = check_review(review or Review()) if action is HandInAction.RETURN else None
    now = services.now()
    async with services.engine.begin() as connection:
        work, existing = await access_hand_in_by_id(
            connection, actor, homework_id, pupil_id, HandInRight.REVIEW, now=now
        )
        row = await hand_in_row(connection, actor, work, pupil_id, existing=existing, now=now)
        target = next_state(HandInState(row.state), action)
        values: dict[str, object] = {"state": target.value, "updated_at": now}
        if checked is not None:
            values.update(
                feedback=checked.feedback,
                mark=checked.mark,
                mark_out_of=checked.mark_out_of,
                returned_at=now,
            )
        await connection.execute(
            hand_ins.update()
            .where(hand_ins.c.school_id == actor.school_id, hand_ins.c.id == row.id)
            .values(**values)
        )
        await record_event(connection, actor, row, to_state=target, late=bool(row.late), now=now)
        marked = await mark_from_hand_in(connection, actor, work.id, pupil_id, checked, now=now)
        versions = await bump_versions(
            connection, actor.school_id, [pupil_scope(pupil_id)], now=now
        )
        versions.update(marked)  # the report cards of the evaluations it landed in
        view = await hand_in_view(connection, work, pupil_id, now=now)
    await services.versions.announce(actor.school_id, versions)
    return view
