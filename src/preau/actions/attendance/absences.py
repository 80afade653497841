"""Absences the office records over a period, the parents' justification (a reason and an
optional document, stored as every upload is), the office's answer, the document's
download and a parent's limited access. Each change is one transaction with its audit;
parents are told through a notice (``common.post_notices``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau import i18n
from preau.actions.access import (
    access_absence_by_id,
    access_parent_link,
    access_pupil_attendance_by_id,
)
from preau.actions.attendance.common import (
    Notice,
    alert_parents,
    audit_row,
    in_school_language,
    moment_text,
    post_notices,
    write_audit,
)
from preau.actions.classwork.files import Upload, record_files, stored_bytes
from preau.actions.context import Services
from preau.actions.zones import school_zone
from preau.adapters.files import open_existing
from preau.adapters.sql.schema import absences, files, parent_links, people
from preau.domain.attendance import (
    ABSENCE_NOT_FOUND,
    ALREADY_JUSTIFIED,
    NOTHING_TO_DECIDE,
    Answer,
    AttendanceAction,
    PeriodDraft,
    Source,
    State,
    check_answer,
    check_justification,
    check_note,
    may_justify,
    period_bounds,
)
from preau.domain.errors import Conflict, NotFound
from preau.domain.people import Actor
from preau.i18n import lazy

PERIOD_TITLE = lazy("Absence: {name}")
PERIOD_BODY = lazy(
    "The school recorded {name} absent from {starts} to {ends}. You can justify this "
    "absence online: {url}"
)
ACCEPTED_TITLE = lazy("Absence justified: {name}")
ACCEPTED_BODY = lazy("The school accepted your justification of the absence of {moment}. {note}")
REFUSED_TITLE = lazy("Justification refused: {name}")
REFUSED_BODY = lazy(
    "The school did not accept your justification of the absence of {moment}: {note} "
    "You can justify it again: {url}"
)


def _state_json(row: Any) -> dict[str, Any]:
    return {
        "state": row.state,
        "reason": row.reason,
        "comment": row.comment,
        "file_id": row.file_id,
        "decision_note": row.decision_note,
    }


async def record_period(services: Services, actor: Actor, draft: PeriodDraft) -> int:
    """The office records a pupil absent from a half-day to a half-day; with a reason
    (the parents phoned), it is justified at once. Returns the absence's id."""
    zone = await school_zone(services, actor.school_id)
    starts, ends = period_bounds(draft, zone)
    note = check_note(draft.note)
    now = services.now()
    state = State.ACCEPTED if draft.reason is not None else State.UNJUSTIFIED
    async with services.engine.begin() as connection:
        pupil = await access_pupil_attendance_by_id(
            connection, actor, draft.pupil_id, AttendanceAction.RECORD
        )
        created = await connection.execute(
            absences.insert().values(
                school_id=actor.school_id,
                pupil_id=draft.pupil_id,
                starts_at=starts,
                ends_at=ends,
                source=Source.PERIOD.value,
                note=note,
                recorded_by=actor.person_id,
                recorded_at=now,
                state=state.value,
                reason=draft.reason.value if draft.reason else None,
                decided_by=actor.person_id if draft.reason else None,
                decided_at=now if draft.reason else None,
            )
        )
        absence_id = int(created.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
        after = {
            "state": state.value,
            "source": Source.PERIOD.value,
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
            "note": note,
        }
        await write_audit(
            connection,
            [
                audit_row(
                    actor.school_id,
                    actor.person_id,
                    draft.pupil_id,
                    "absence",
                    before=None,
                    after=after,
                    now=now,
                    absence_id=absence_id,
                )
            ],
        )
        told: list[int] = []
        if state is State.UNJUSTIFIED:
            name = f"{pupil.family_name} {pupil.given_name}"
            token = in_school_language(services)
            try:
                notice = Notice(
                    pupil_id=draft.pupil_id,
                    title=i18n.gettext(PERIOD_TITLE).format(name=name),
                    body=i18n.gettext(PERIOD_BODY).format(
                        name=name,
                        starts=moment_text(starts, zone),
                        ends=moment_text(ends, zone),
                        url=_pupil_url(services, draft.pupil_id),
                    ),
                )
            finally:
                i18n.current_locale.reset(token)
            told = await post_notices(connection, actor.school_id, actor.person_id, [notice], now)
    await alert_parents(services, actor.school_id, told)
    return absence_id


def _pupil_url(services: Services, pupil_id: int) -> str:
    return f"{services.settings.base_url.rstrip('/')}/attendance/pupils/{pupil_id}"


async def justify(
    services: Services,
    actor: Actor,
    absence_id: int,
    *,
    reason: str,
    comment: str,
    upload: Upload | None,
) -> int:
    """A parent justifies an absence: a reason, a comment, and a document if they have
    one (checked and stored as every upload, removed again if anything is refused).
    Returns the pupil's id."""
    chosen, text = check_justification(reason, comment)
    now = services.now()
    async with (
        stored_bytes(services, [upload] if upload is not None else []) as stored,
        services.engine.begin() as connection,
    ):
        row = await access_absence_by_id(connection, actor, absence_id, AttendanceAction.JUSTIFY)
        if not may_justify(State(row.state)):
            raise Conflict(ALREADY_JUSTIFIED)
        await record_files(connection, services, actor, stored)
        values = {
            "state": State.PENDING.value,
            "reason": chosen.value,
            "comment": text,
            "file_id": stored[0].id if stored else None,
            "justified_by": actor.person_id,
            "justified_at": now,
            "decision_note": "",
        }
        await connection.execute(
            absences.update().where(absences.c.id == absence_id).values(**values)
        )
        after = {key: values[key] for key in ("state", "reason", "comment", "file_id")}
        await write_audit(
            connection,
            [
                audit_row(
                    actor.school_id,
                    actor.person_id,
                    int(row.pupil_id),
                    "justified",
                    before=_state_json(row),
                    after={**after, "decision_note": ""},
                    now=now,
                    absence_id=absence_id,
                )
            ],
        )
    return int(row.pupil_id)


async def answer(services: Services, actor: Actor, absence_id: int, given: Answer) -> int:
    """The office accepts or refuses a justification, with a sentence to the parents (one
    is required to refuse). Returns the pupil's id."""
    note = check_answer(given)
    now = services.now()
    zone = await school_zone(services, actor.school_id)
    async with services.engine.begin() as connection:
        row = await access_absence_by_id(connection, actor, absence_id, AttendanceAction.RECORD)
        if State(row.state) is not State.PENDING:
            raise Conflict(NOTHING_TO_DECIDE)
        state = State.ACCEPTED if given.accept else State.REFUSED
        await connection.execute(
            absences.update()
            .where(absences.c.id == absence_id)
            .values(
                state=state.value, decided_by=actor.person_id, decided_at=now, decision_note=note
            )
        )
        await write_audit(
            connection,
            [
                audit_row(
                    actor.school_id,
                    actor.person_id,
                    int(row.pupil_id),
                    state.value,
                    before=_state_json(row),
                    after={**_state_json(row), "state": state.value, "decision_note": note},
                    now=now,
                    absence_id=absence_id,
                )
            ],
        )
        name = await _pupil_name(connection, actor.school_id, int(row.pupil_id))
        token = in_school_language(services)
        try:
            moment = moment_text(row.starts_at, zone)
            title, body = (
                (ACCEPTED_TITLE, ACCEPTED_BODY)
                if given.accept
                else (
                    REFUSED_TITLE,
                    REFUSED_BODY,
                )
            )
            notice = Notice(
                pupil_id=int(row.pupil_id),
                title=i18n.gettext(title).format(name=name),
                body=i18n.gettext(body)
                .format(moment=moment, note=note, url=_pupil_url(services, int(row.pupil_id)))
                .strip(),
            )
        finally:
            i18n.current_locale.reset(token)
        told = await post_notices(connection, actor.school_id, actor.person_id, [notice], now)
    await alert_parents(services, actor.school_id, told)
    return int(row.pupil_id)


async def _pupil_name(connection: AsyncConnection, school_id: int, pupil_id: int) -> str:
    row = (
        await connection.execute(
            sa.select(people.c.given_name, people.c.family_name).where(
                people.c.school_id == school_id, people.c.id == pupil_id
            )
        )
    ).one()
    return f"{row.family_name} {row.given_name}"


@dataclass(frozen=True)
class Document:
    name: str
    content_type: str
    size: int
    chunks: Any  # AsyncIterator[bytes]


async def open_document(services: Services, actor: Actor, absence_id: int) -> Document:
    """The parents' document of an absence, for whoever may read the absence."""
    async with services.engine.connect() as connection:
        row = await access_absence_by_id(connection, actor, absence_id, AttendanceAction.READ)
        stored = None
        if row.file_id is not None:
            stored = (
                await connection.execute(
                    sa.select(files).where(
                        files.c.school_id == actor.school_id, files.c.id == row.file_id
                    )
                )
            ).first()
    if stored is None:
        raise NotFound(ABSENCE_NOT_FOUND)
    try:
        chunks = await open_existing(services.files, stored.storage_key)
    except FileNotFoundError:
        raise NotFound(ABSENCE_NOT_FOUND) from None
    return Document(
        name=stored.name, content_type=stored.content_type, size=int(stored.size), chunks=chunks
    )


async def limit_parent_access(
    services: Services, actor: Actor, parent_id: int, child_id: int, *, limited: bool
) -> bool:
    """The school limits (or restores) what a parent sees of a child's attendance."""
    now = services.now()
    async with services.engine.begin() as connection:
        link = await access_parent_link(connection, actor, parent_id, child_id)
        if bool(link.limited_access) != limited:
            await connection.execute(
                parent_links.update()
                .where(
                    parent_links.c.school_id == actor.school_id,
                    parent_links.c.parent_id == parent_id,
                    parent_links.c.child_id == child_id,
                )
                .values(limited_access=limited)
            )
            await write_audit(
                connection,
                [
                    audit_row(
                        actor.school_id,
                        actor.person_id,
                        child_id,
                        "parent_access",
                        before={"parent_id": parent_id, "limited": bool(link.limited_access)},
                        after={"parent_id": parent_id, "limited": limited},
                        now=now,
                    )
                ],
            )
    return limited
