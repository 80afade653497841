"""A pupil's hand-in: turned in (once per idempotency key), taken back, ticked done, and read;
the row, its deadlines with any extension, its history and view, for review and the lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_hand_in_by_id, access_own_hand_in
from preau.actions.classwork.files import (
    TOO_MANY_FILES,
    StoredFile,
    Upload,
    file_view,
    own_files,
    record_files,
    stored_uploads,
)
from preau.actions.classwork.homework import Row, person_name
from preau.actions.classwork.todo import pupil_scope
from preau.actions.context import Services
from preau.actions.warm import bump_statement, bump_statement_for_rows, bump_versions
from preau.adapters.sql.schema import (
    files,
    hand_in_events,
    hand_in_files,
    hand_ins,
    homework_done,
    homework_extensions,
    idempotency_keys,
    people,
)
from preau.domain.classwork import (
    MAX_ATTACHMENTS,
    MAX_HAND_IN_TEXT,
    NO_HAND_IN,
    FileView,
    HandInAction,
    HandInEvent,
    HandInRight,
    HandInState,
    HandInView,
    TurnIn,
    check_hand_in_open,
    check_idempotency_key,
    check_long_text,
    effective_deadlines,
    is_late,
    next_state,
)
from preau.domain.errors import Conflict, InvalidInput, PreauError
from preau.domain.people import Actor, Profile
from preau.i18n import lazy

NOTHING_TO_TURN_IN = lazy("Write something or add a file before turning in.")
KEY_REUSED = lazy("This idempotency key was already used for another request.")
TAKE_BACK_CLOSED = lazy("The cut-off time has passed: work turned in can no longer be taken back.")
DONE_NEEDS_NO_HAND_IN = lazy(
    "This homework expects a hand-in: turn your work in instead of ticking it."
)


_EXTENSION = sa.select(homework_extensions.c.due_at, homework_extensions.c.cutoff_at).where(
    homework_extensions.c.school_id == sa.bindparam("school_id"),
    homework_extensions.c.homework_id == sa.bindparam("homework_id"),
    homework_extensions.c.pupil_id == sa.bindparam("pupil_id"),
)


async def _deadlines(
    connection: AsyncConnection, work: Row, pupil_id: int
) -> tuple[datetime, datetime | None, bool]:
    extension = (
        await connection.execute(
            _EXTENSION,
            {"school_id": work.school_id, "homework_id": work.id, "pupil_id": pupil_id},
        )
    ).first()
    return _deadlines_with(work, tuple(extension) if extension else None)


def _deadlines_with(
    work: Any, extension: tuple[datetime, datetime | None] | None
) -> tuple[datetime, datetime | None, bool]:
    """The due time, the cut-off and whether they were extended, from the extension's
    due and cut-off times (None without one)."""
    due, cutoff = effective_deadlines(
        work.due_at,
        work.cutoff_at,
        extension[0] if extension else None,
        extension[1] if extension else None,
    )
    return due, cutoff, extension is not None


async def hand_in_row(
    connection: AsyncConnection, actor: Actor, work: Row, pupil_id: int, *, existing: Row | None,
    now: datetime,
) -> Row:  # fmt: skip
    """The hand-in row, created in the assigned state on the first action."""
    if existing is not None:
        return existing
    return (await _created_hand_in(connection, actor, work, pupil_id, now=now)) or (
        await _stored_hand_in(connection, work, pupil_id)
    )


_CREATE = {
    name: insert(hand_ins)
    .on_conflict_do_nothing(index_elements=["homework_id", "pupil_id"])
    .returning(*hand_ins.c)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


async def _created_hand_in(
    connection: AsyncConnection, actor: Actor, work: Row, pupil_id: int, *, now: datetime,
    values: dict[str, Any] | None = None,
) -> Row | None:  # fmt: skip
    """Create the hand-in in one statement, in the assigned state or with ``values``
    (a first turn-in writes its final state at once); None when a request running at the
    same time created it first."""
    return (
        await connection.execute(
            _CREATE[connection.dialect.name],
            {
                "school_id": actor.school_id,
                "homework_id": work.id,
                "pupil_id": pupil_id,
                **(values or {"state": HandInState.ASSIGNED.value, "updated_at": now}),
            },
        )
    ).first()


async def _stored_hand_in(connection: AsyncConnection, work: Row, pupil_id: int) -> Row:
    return (
        await connection.execute(
            sa.select(hand_ins).where(
                hand_ins.c.school_id == work.school_id,
                hand_ins.c.homework_id == work.id,
                hand_ins.c.pupil_id == pupil_id,
            )
        )
    ).one()


_NEW_EVENT = hand_in_events.insert()


async def record_event(
    connection: AsyncConnection, actor: Actor, hand_in: Row, *, to_state: HandInState,
    late: bool, now: datetime,
) -> None:  # fmt: skip
    await connection.execute(
        _NEW_EVENT,
        {
            "school_id": actor.school_id,
            "hand_in_id": hand_in.id,
            "actor_id": actor.person_id,
            "from_state": hand_in.state,
            "to_state": to_state.value,
            "late": late,
            "at": now,
        },
    )


@dataclass(frozen=True)
class Known:
    """What a writer already holds when it builds the view after its write, so that the
    view reads only the rest: the hand-in row as written (RETURNING), the deadlines, and
    for a hand-in created by this very write, its only event and its files."""

    row: Row
    deadlines: tuple[datetime, datetime | None, bool]
    events: list[HandInEvent] | None = None
    handed: list[FileView] | None = None
    pupil_name: str | None = None


async def hand_in_view(
    connection: AsyncConnection,
    work: Row,
    pupil_id: int,
    *,
    now: datetime,
    with_events: bool = True,
    known: Known | None = None,
) -> HandInView:
    if known is not None:
        row: Row | None = known.row
    else:
        row = (
            await connection.execute(
                sa.select(hand_ins).where(
                    hand_ins.c.school_id == work.school_id,
                    hand_ins.c.homework_id == work.id,
                    hand_ins.c.pupil_id == pupil_id,
                )
            )
        ).first()
    if known is not None and known.pupil_name is not None:
        pupil_name = known.pupil_name
    else:
        pupil_name = person_name(
            (
                await connection.execute(
                    sa.select(people.c.given_name, people.c.family_name).where(
                        people.c.school_id == work.school_id, people.c.id == pupil_id
                    )
                )
            ).one()
        )
    due, cutoff, extended = (
        known.deadlines if known is not None else await _deadlines(connection, work, pupil_id)
    )
    handed: list[FileView] = []
    events: list[HandInEvent] = []
    if known is not None and known.handed is not None:
        handed = known.handed
    elif row is not None:
        handed = [
            file_view(item)
            for item in await connection.execute(
                sa.select(files)
                .join(hand_in_files, hand_in_files.c.file_id == files.c.id)
                .where(
                    hand_in_files.c.school_id == work.school_id,
                    hand_in_files.c.hand_in_id == row.id,
                )
                .order_by(files.c.created_at, files.c.name)
            )
        ]
    if known is not None and known.events is not None:
        events = known.events if with_events else []
    elif row is not None and with_events:
        events = [
            HandInEvent(
                from_state=HandInState(event.from_state),
                to_state=HandInState(event.to_state),
                at=event.at,
                late=event.late,
                actor_id=event.actor_id,
            )
            for event in await connection.execute(
                sa.select(hand_in_events)
                .where(
                    hand_in_events.c.school_id == work.school_id,
                    hand_in_events.c.hand_in_id == row.id,
                )
                .order_by(hand_in_events.c.id)
            )
        ]
    return hand_in_view_from(
        work,
        pupil_id=pupil_id,
        pupil_name=pupil_name,
        row=row,
        handed=handed,
        events=events,
        due=due,
        cutoff=cutoff,
        extended=extended,
        now=now,
    )


def hand_in_view_from(
    work: Any,
    *,
    pupil_id: int,
    pupil_name: str,
    row: Any,
    handed: list[FileView],
    events: list[HandInEvent],
    due: datetime,
    cutoff: datetime | None,
    extended: bool,
    now: datetime,
) -> HandInView:
    state = HandInState(row.state) if row is not None else HandInState.ASSIGNED
    waiting = state in (HandInState.ASSIGNED, HandInState.MISSING)
    late = (bool(row.late) if row is not None and not waiting else False) or (
        waiting and work.hand_in_expected and now > due
    )
    return HandInView(
        homework_id=work.id,
        pupil_id=pupil_id,
        pupil_name=pupil_name,
        state=state,
        text=row.text if row is not None else "",
        files=handed,
        turned_in_at=row.turned_in_at if row is not None else None,
        late=late,
        returned_at=row.returned_at if row is not None else None,
        feedback=row.feedback if row is not None else "",
        mark=row.mark if row is not None else None,
        mark_out_of=row.mark_out_of if row is not None else None,
        due_at=due,
        cutoff_at=cutoff,
        extended=extended,
        open=bool(work.hand_in_expected) and (cutoff is None or now <= cutoff),
        events=events,
    )


async def get_hand_in(
    services: Services, actor: Actor, homework_id: int, pupil_id: int
) -> HandInView:
    now = services.now()
    async with services.engine.connect() as connection:
        work, _row = await access_hand_in_by_id(
            connection, actor, homework_id, pupil_id, HandInRight.READ, now=now
        )
        return await hand_in_view(connection, work, pupil_id, now=now)


async def turn_in(
    services: Services,
    actor: Actor,
    homework_id: int,
    submission: TurnIn,
    uploads: list[Upload] | None = None,
) -> HandInView:
    """The pupil turns work in: text and files. Late is decided here, from the due time
    with the pupil's extension; after the cut-off nothing is accepted, whatever the route.
    The write of the morning: a pupil's first turn-in is one read (the homework, the
    hand-in, the extension and the name, access decided) and four writes (the hand-in,
    its event, the pupil's read version, the key with its answer). A key already used is
    found by that last write failing (a retry is rare): the work is rolled back, and the
    first answer given, as when the key is looked up first."""
    now = services.now()
    key = check_idempotency_key(submission.idempotency_key)
    action_name = f"turn_in:{homework_id}"
    text = check_long_text(submission.text, "text", MAX_HAND_IN_TEXT)
    working = False  # the checks a retry gets again are passed: the work has begun
    try:
        async with (
            stored_uploads(services, actor, uploads or []) as stored,
            services.engine.begin() as connection,
        ):
            pupil_name = None
            if actor.profile is Profile.PUPIL:
                own = await access_own_hand_in(
                    connection, actor, homework_id, HandInRight.TURN_IN, now=now
                )
                work, existing, pupil_name = own.work, own.hand_in, own.pupil_name
                deadlines = _deadlines_with(work, own.extension)
            else:  # refused below, with the same errors as any other hand-in
                work, existing = await access_hand_in_by_id(
                    connection, actor, homework_id, actor.person_id, HandInRight.TURN_IN, now=now
                )
                deadlines = await _deadlines(connection, work, actor.person_id)
            if not work.hand_in_expected:
                raise Conflict(NO_HAND_IN)
            check_hand_in_open(now, deadlines[1])
            working = True
            view, versions = await _do_turn_in(
                    connection, services, actor, work=work, existing=existing, text=text,
                    submission=submission, stored=stored, deadlines=deadlines, now=now,
                    pupil_name=pupil_name, key=key, action_name=action_name,
                )  # fmt: skip
    except (IntegrityError, PreauError) as error:
        # The key was used already (a retry, or the same request twice at once): nothing
        # of this one was kept (its files are removed again); answer as the first did, or
        # refuse a key used for another request. Without a key, or failing before the
        # work began (what a retry is refused for too), the error stands.
        if key is None or (isinstance(error, PreauError) and not working):
            raise
        async with services.engine.connect() as connection:
            replay = await _replayed(connection, actor, key, action_name)
        if replay is None:
            raise
        return replay
    await services.versions.announce(actor.school_id, versions)
    return view


_NEW_KEY = idempotency_keys.insert()


def _given(name: str, column: sa.Column[Any]) -> Any:
    """A bound value named ``name``, typed as ``column``."""
    return sa.bindparam(name, type_=column.type)


def _finish_statement(*, with_key: bool) -> Any:
    """A first turn-in's last writes in one PostgreSQL statement: its event and the key
    with its answer as CTEs of the pupil's read-version bump (parameters: the bump's, and
    ``hand_in_id``, ``actor_id``, ``from_state``, ``to_state``, ``late``, ``key``,
    ``action``, ``result``). A key used already fails the whole statement, as before."""

    now = _given("now", hand_in_events.c.at)
    school_id = _given("school_id", hand_in_events.c.school_id)
    actor_id = _given("actor_id", hand_in_events.c.actor_id)
    writes = [
        postgresql.insert(hand_in_events)
        .values(
            school_id=school_id,
            hand_in_id=_given("hand_in_id", hand_in_events.c.hand_in_id),
            actor_id=actor_id,
            from_state=_given("from_state", hand_in_events.c.from_state),
            to_state=_given("to_state", hand_in_events.c.to_state),
            late=_given("late", hand_in_events.c.late),
            at=now,
        )
        .cte("new_event")
    ]
    if with_key:
        writes.append(
            postgresql.insert(idempotency_keys)
            .values(
                school_id=school_id,
                person_id=actor_id,
                key=_given("key", idempotency_keys.c.key),
                action=_given("action", idempotency_keys.c.action),
                result=_given("result", idempotency_keys.c.result),
                created_at=now,
            )
            .cte("new_key")
        )
    return bump_statement(postgresql.insert).add_cte(*writes)


_FINISH = {with_key: _finish_statement(with_key=with_key) for with_key in (False, True)}


def _at_once_statement(*, with_key: bool) -> Any:
    """A first turn-in of text alone in one PostgreSQL statement: the hand-in created
    turned in, and from it (so nothing when a request running at the same time created it
    first) its event, the key with its answer and the pupil's read-version bump, whose new
    number it returns. Parameters: :func:`_finish_statement`'s, ``homework_id`` and
    ``text``. A key used already fails the whole statement."""

    now = _given("now", hand_ins.c.updated_at)
    school_id = _given("school_id", hand_ins.c.school_id)
    actor_id = _given("actor_id", hand_ins.c.pupil_id)
    to_state = _given("to_state", hand_ins.c.state)
    late = _given("late", hand_ins.c.late)
    created = (
        postgresql.insert(hand_ins)
        .values(
            school_id=school_id,
            homework_id=_given("homework_id", hand_ins.c.homework_id),
            pupil_id=actor_id,
            state=to_state,
            text=_given("text", hand_ins.c.text),
            turned_in_at=now,
            late=late,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["homework_id", "pupil_id"])
        .returning(hand_ins.c.id)
        .cte("new_hand_in")
    )
    event = sa.select(
        school_id, created.c.id, actor_id, _given("from_state", hand_in_events.c.from_state),
        to_state, late, now,
    )  # fmt: skip
    writes = [
        postgresql.insert(hand_in_events)
        .from_select(
            ["school_id", "hand_in_id", "actor_id", "from_state", "to_state", "late", "at"], event
        )
        .cte("new_event")
    ]
    if with_key:
        key = sa.select(
            school_id, actor_id, _given("key", idempotency_keys.c.key),
            _given("action", idempotency_keys.c.action),
            _given("result", idempotency_keys.c.result), now,
        ).select_from(created)  # fmt: skip
        writes.append(
            postgresql.insert(idempotency_keys)
            .from_select(["school_id", "person_id", "key", "action", "result", "created_at"], key)
            .cte("new_key")
        )
    return bump_statement_for_rows(created, school_id=school_id, now=now).add_cte(*writes)


_AT_ONCE = {with_key: _at_once_statement(with_key=with_key) for with_key in (False, True)}


async def _turned_in_at_once(
    connection: AsyncConnection, actor: Actor, *, work: Row, text: str, target: HandInState,
    late: bool, now: datetime, deadlines: tuple[datetime, datetime | None, bool],
    pupil_name: str | None, key: str | None, action_name: str,
) -> tuple[HandInView, dict[str, int]] | None:  # fmt: skip
    """A first turn-in of text alone, on PostgreSQL: the answer is built from what is
    written (the row as its insert makes it), then everything written in one statement.
    None when a request running at the same time created the hand-in: nothing written."""
    written: Any = SimpleNamespace(
        state=target.value, text=text, turned_in_at=now, late=late, returned_at=None,
        feedback="", mark=None, mark_out_of=None,
    )  # fmt: skip
    first = HandInEvent(
        from_state=HandInState.ASSIGNED, to_state=target, at=now, late=late,
        actor_id=actor.person_id,
    )  # fmt: skip
    known = Known(
        row=written, deadlines=deadlines, events=[first], handed=[], pupil_name=pupil_name
    )
    view = await hand_in_view(connection, work, actor.person_id, now=now, known=known)
    scope = pupil_scope(actor.person_id)
    parameters = _first_turn_in_parameters(
        actor, scope, to_state=target, late=late, now=now, key=key, action_name=action_name,
        view=view, homework_id=work.id, text=text,
    )  # fmt: skip
    version = (await connection.execute(_AT_ONCE[key is not None], parameters)).scalar()
    if version is None:
        return None
    return view, {scope: int(version)}


async def _record_key(
    connection: AsyncConnection, actor: Actor, key: str | None, *, action_name: str,
    view: HandInView, now: datetime,
) -> None:  # fmt: skip
    if key is not None:
        await connection.execute(
            _NEW_KEY,
            {
                "school_id": actor.school_id,
                "person_id": actor.person_id,
                "key": key,
                "action": action_name,
                "result": msgspec.json.encode(view),
                "created_at": now,
            },
        )


async def _finish_first_turn_in(
    connection: AsyncConnection, actor: Actor, *, hand_in_id: int, to_state: HandInState,
    late: bool, now: datetime, view: HandInView, key: str | None, action_name: str,
) -> dict[str, int]:  # fmt: skip
    """The event of a hand-in this write created, the pupil's read version and the key
    with its answer: one statement on PostgreSQL, three elsewhere."""
    scope = pupil_scope(actor.person_id)
    if connection.dialect.name != "postgresql":
        row: Any = SimpleNamespace(id=hand_in_id, state=HandInState.ASSIGNED.value)
        await record_event(connection, actor, row, to_state=to_state, late=late, now=now)
        versions = await bump_versions(connection, actor.school_id, [scope], now=now)
        await _record_key(connection, actor, key, action_name=action_name, view=view, now=now)
        return versions
    parameters = _first_turn_in_parameters(
        actor, scope, to_state=to_state, late=late, now=now, key=key, action_name=action_name,
        view=view, hand_in_id=hand_in_id,
    )  # fmt: skip
    version = (await connection.execute(_FINISH[key is not None], parameters)).scalar_one()
    return {scope: int(version)}


def _first_turn_in_parameters(
    actor: Actor, scope: str, *, to_state: HandInState, late: bool, now: datetime,
    key: str | None, action_name: str, view: HandInView, **row: Any,
) -> dict[str, Any]:  # fmt: skip
    """The bound values of :data:`_AT_ONCE` and :data:`_FINISH`, with ``row``'s own."""
    parameters: dict[str, Any] = {
        "school_id": actor.school_id,
        "scope": scope,
        "now": now,
        "actor_id": actor.person_id,
        "from_state": HandInState.ASSIGNED.value,
        "to_state": to_state.value,
        "late": late,
        **row,
    }
    if key is not None:
        parameters |= {"key": key, "action": action_name, "result": msgspec.json.encode(view)}
    return parameters


_KEY = sa.select(idempotency_keys.c.action, idempotency_keys.c.result).where(
    idempotency_keys.c.school_id == sa.bindparam("school_id"),
    idempotency_keys.c.person_id == sa.bindparam("person_id"),
    idempotency_keys.c.key == sa.bindparam("key"),
)


async def _replayed(
    connection: AsyncConnection, actor: Actor, key: str, action_name: str
) -> HandInView | None:
    stored = (
        await connection.execute(
            _KEY, {"school_id": actor.school_id, "person_id": actor.person_id, "key": key}
        )
    ).first()
    if stored is None:
        return None
    if stored.action != action_name:
        raise Conflict(KEY_REUSED, field="idempotency_key")
    return msgspec.json.decode(stored.result, type=HandInView)


def _check_first_turn_in(text: str, new_ids: list[str]) -> None:
    if not text and not new_ids:
        raise InvalidInput(NOTHING_TO_TURN_IN, field="text")
    if len(dict.fromkeys(new_ids)) > MAX_ATTACHMENTS:
        raise InvalidInput(TOO_MANY_FILES, field="file_ids")


async def _do_turn_in(
    connection: AsyncConnection,
    services: Services,
    actor: Actor,
    *,
    work: Row,
    existing: Row | None,
    text: str,
    submission: TurnIn,
    stored: list[StoredFile],
    deadlines: tuple[datetime, datetime | None, bool],
    now: datetime,
    pupil_name: str | None = None,
    key: str | None = None,
    action_name: str = "",
) -> tuple[HandInView, dict[str, int]]:
    """The write of the morning, in a handful of statements: a first turn-in creates the
    hand-in turned in at once (one INSERT ... RETURNING), then writes its event, the
    pupil's read version and the key in one more; a later one updates it with RETURNING,
    then its event and the pupil's read version, the view read back, and the key. A
    hand-in this write creates has no files or events to read back."""
    target = next_state(
        HandInState(existing.state) if existing is not None else HandInState.ASSIGNED,
        HandInAction.TURN_IN,
    )
    await record_files(connection, services, actor, stored)
    chosen = await own_files(connection, services, actor, submission.file_ids)
    new_ids = [str(item.id) for item in chosen] + [item.id for item in stored]
    late = is_late(now, deadlines[0])
    written = created = None
    if existing is None:
        _check_first_turn_in(text, new_ids)
        if not new_ids and connection.dialect.name == "postgresql":
            at_once = await _turned_in_at_once(
                connection, actor, work=work, text=text, target=target, late=late, now=now,
                deadlines=deadlines, pupil_name=pupil_name, key=key, action_name=action_name,
            )  # fmt: skip
            if at_once is not None:
                return at_once
        else:
            values = {"state": target.value, "text": text, "turned_in_at": now, "late": late,
                      "updated_at": now}  # fmt: skip
            written = created = await _created_hand_in(
                connection, actor, work, actor.person_id, now=now, values=values
            )
    if created is not None:
        row: Any = SimpleNamespace(id=created.id, state=HandInState.ASSIGNED.value)
        to_add = list(dict.fromkeys(new_ids))
    else:  # turned in again, or created by a request running at the same time
        row = existing or await _stored_hand_in(connection, work, actor.person_id)
        target = next_state(HandInState(row.state), HandInAction.TURN_IN)
        already = set(
            (
                await connection.execute(
                    sa.select(hand_in_files.c.file_id).where(
                        hand_in_files.c.school_id == actor.school_id,
                        hand_in_files.c.hand_in_id == row.id,
                    )
                )
            ).scalars()
        )
        to_add = [file_id for file_id in dict.fromkeys(new_ids) if file_id not in already]
        if not text and not already and not to_add:
            raise InvalidInput(NOTHING_TO_TURN_IN, field="text")
        if len(already) + len(to_add) > MAX_ATTACHMENTS:
            raise InvalidInput(TOO_MANY_FILES, field="file_ids")
    if to_add:
        await connection.execute(
            hand_in_files.insert(),
            [
                {"school_id": actor.school_id, "hand_in_id": row.id, "file_id": file_id}
                for file_id in to_add
            ],
        )
    if written is None:
        written = (
            await connection.execute(
                hand_ins.update()
                .where(hand_ins.c.school_id == actor.school_id, hand_ins.c.id == row.id)
                .values(state=target.value, text=text, turned_in_at=now, late=late, updated_at=now)
                .returning(*hand_ins.c)
            )
        ).one()
    if created is not None:
        first = HandInEvent(
            from_state=HandInState(row.state), to_state=target, at=now, late=late,
            actor_id=actor.person_id,
        )  # fmt: skip
        known = Known(
            row=written,
            deadlines=deadlines,
            events=[first],
            handed=None if to_add else [],
            pupil_name=pupil_name,
        )
        view = await hand_in_view(connection, work, actor.person_id, now=now, known=known)
        versions = await _finish_first_turn_in(
            connection, actor, hand_in_id=created.id, to_state=target, late=late, now=now,
            view=view, key=key, action_name=action_name,
        )  # fmt: skip
        return view, versions
    await record_event(connection, actor, row, to_state=target, late=late, now=now)
    versions = await bump_versions(
        connection, actor.school_id, [pupil_scope(actor.person_id)], now=now
    )
    known = Known(row=written, deadlines=deadlines, pupil_name=pupil_name)
    view = await hand_in_view(connection, work, actor.person_id, now=now, known=known)
    await _record_key(connection, actor, key, action_name=action_name, view=view, now=now)
    return view, versions


async def take_back(services: Services, actor: Actor, homework_id: int) -> HandInView:
    now = services.now()
    async with services.engine.begin() as connection:
        work, existing = await access_hand_in_by_id(
            connection, actor, homework_id, actor.person_id, HandInRight.TURN_IN, now=now
        )
        _due, cutoff, _extended = await _deadlines(connection, work, actor.person_id)
        if cutoff is not None and now > cutoff:
            raise Conflict(TAKE_BACK_CLOSED)
        row = await hand_in_row(
            connection, actor, work, actor.person_id, existing=existing, now=now
        )
        target = next_state(HandInState(row.state), HandInAction.TAKE_BACK)
        await connection.execute(
            hand_ins.update()
            .where(hand_ins.c.school_id == actor.school_id, hand_ins.c.id == row.id)
            .values(state=target.value, late=False, updated_at=now)
        )
        await record_event(connection, actor, row, to_state=target, late=False, now=now)
        versions = await bump_versions(
            connection, actor.school_id, [pupil_scope(actor.person_id)], now=now
        )
        view = await hand_in_view(connection, work, actor.person_id, now=now)
    await services.versions.announce(actor.school_id, versions)
    return view


async def set_done(services: Services, actor: Actor, homework_id: int, *, done: bool) -> None:
    """The pupil's tick on work that expects no hand-in."""
    now = services.now()
    async with services.engine.begin() as connection:
        work, _row = await access_hand_in_by_id(
            connection, actor, homework_id, actor.person_id, HandInRight.TURN_IN, now=now
        )
        if work.hand_in_expected:
            raise Conflict(DONE_NEEDS_NO_HAND_IN)
        await connection.execute(
            homework_done.delete().where(
                homework_done.c.school_id == actor.school_id,
                homework_done.c.homework_id == homework_id,
                homework_done.c.pupil_id == actor.person_id,
            )
        )
        if done:
            await connection.execute(
                homework_done.insert().values(
                    school_id=actor.school_id,
                    homework_id=homework_id,
                    pupil_id=actor.person_id,
                    done_at=now,
                )
            )
        versions = await bump_versions(
            connection, actor.school_id, [pupil_scope(actor.person_id)], now=now
        )
    await services.versions.announce(actor.school_id, versions)


async def turn_in_result(
    connection: AsyncConnection, actor: Actor, work: Row, existing: Row | None, *, text: str,
    now: datetime,
) -> dict[str, int]:  # fmt: skip
    """Turn in, inside the caller's transaction, the pupil's hand-in whose content Préau
    made (an exercise's attempt): its summary as text. A later attempt turned in over an
    earlier one replaces the summary. Returns the versions to announce after the commit."""
    due, cutoff, _extended = await _deadlines(connection, work, actor.person_id)
    check_hand_in_open(now, cutoff)
    row = await hand_in_row(connection, actor, work, actor.person_id, existing=existing, now=now)
    state = HandInState(row.state)
    target = state if state is HandInState.TURNED_IN else next_state(state, HandInAction.TURN_IN)
    late = is_late(now, due)
    await connection.execute(
        hand_ins.update()
        .where(hand_ins.c.school_id == actor.school_id, hand_ins.c.id == row.id)
        .values(state=target.value, text=text, turned_in_at=now, late=late, updated_at=now)
    )
    await record_event(connection, actor, row, to_state=target, late=late, now=now)
    return await bump_versions(connection, actor.school_id, [pupil_scope(actor.person_id)], now=now)
