"""The only place objects are fetched for an actor: one ``access_<thing>_by_id`` per object
type, and the filters that keep lists to what the actor may see.

Each function loads the facts the pure rule in :mod:`preau.domain.access` needs, asks it
and returns the row, or raises :class:`NotFound` / :class:`Forbidden` through
:func:`enforce`. An object of another school, or one the actor may not know about, is "not
found". Handlers and actions never check permissions by hand. Sections follow the object
types: people and the directory, classes and groups, classwork, messages, the timetable,
virtual classes, the platform, marks.

Past 900 lines on purpose: one file a reviewer reads to know who may see what. When the
second wave's areas (skills, attendance, lessons, exercises) push it much further, it
becomes a package ``actions/access/`` with one module per section, and
``tests/test_architecture.py`` follows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.adapters.sql.schema import (
    announcement_recipients,
    announcements,
    conversation_participants,
    conversations,
    enrolments,
    evaluations,
    files,
    groups,
    hand_in_files,
    hand_ins,
    homework,
    homework_attachments,
    homework_targets,
    message_attachments,
    message_reports,
    messages,
    parent_links,
    people,
    schools,
    virtual_guests,
    virtual_rooms,
)
from preau.domain.access import (
    Action,
    Decision,
    announcement_decision,
    conversation_decision,
    directory_decision,
    file_decision,
    group_decision,
    hand_in_decision,
    homework_decision,
    lesson_decision,
    marks_decision,
    marks_settings_decision,
    person_decision,
    report_card_decision,
    room_decision,
)
from preau.domain.classwork import (
    FILE_NOT_FOUND,
    HAND_IN_NOT_FOUND,
    HOMEWORK_NOT_FOUND,
    NOT_YOUR_CLASS,
    READ_ONLY,
    HandInRight,
)
from preau.domain.errors import Forbidden, InvalidInput, NotFound
from preau.domain.marks import EVALUATION_NOT_FOUND
from preau.domain.marks import NOT_YOUR_CLASS as NOT_YOUR_MARKS
from preau.domain.marks import PUPIL_NOT_FOUND as MARKS_PUPIL_NOT_FOUND
from preau.domain.marks import READ_ONLY as MARKS_READ_ONLY
from preau.domain.messages import (
    MODERATORS,
    AnnouncementAction,
    ConversationAction,
    announcement_refusal,
)
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.domain.timetable import LESSON_NOT_FOUND, Lesson
from preau.domain.virtual import ROOM_NOT_FOUND, Role
from preau.i18n import lazy

Row = sa.Row[tuple[object, ...]]

PERSON_NOT_FOUND = lazy("This person does not exist or is not in your school.")
GROUP_NOT_FOUND = lazy("This class or group does not exist or is not in your school.")
NOT_YOURS = lazy("You are not allowed to do this. Only a school administrator can.")
NOT_YOUR_VIRTUAL_CLASS = lazy("You can only start a virtual class for a class or group you teach.")
CONVERSATION_NOT_FOUND = lazy("This conversation does not exist or you cannot see it.")
ANNOUNCEMENT_NOT_FOUND = lazy("This announcement does not exist or you cannot see it.")
REPLIES_CLOSED = lazy(
    "Replies are closed in this conversation: only the person who started it can write."
)
NOT_A_PARTICIPANT = lazy("Only the people in this conversation can do this.")
ONLY_MODERATORS = lazy("Only the school staff can do this.")
MESSAGE_NOT_FOUND = lazy("This message does not exist or you cannot see it.")
ATTACHMENT_NOT_FOUND = lazy("This file does not exist or you cannot see it.")
ONLY_RECIPIENTS = lazy("Only the recipients of an announcement can mark it as read.")
ONLY_OVERSEERS = lazy(
    "Only the author of an announcement and the school staff can see who read it."
)
NOT_OPERATOR = lazy("Only the platform's operators can see or change the waiting room.")


# -- deciding, and the facts several sections need ----------------------------------------


def enforce(
    decision: Decision, not_found: str = PERSON_NOT_FOUND, forbidden: str = NOT_YOURS
) -> None:
    """Raise what ``decision`` means: "not found" with ``not_found``, a refusal with
    ``forbidden``; nothing when it allows."""
    if decision is Decision.HIDE:
        raise NotFound(not_found)
    if decision is Decision.FORBID:
        raise Forbidden(forbidden)


async def child_ids(connection: AsyncConnection, actor: Actor) -> set[int]:
    """The children of a parent (one indexed query); nobody else has any (no query)."""
    if actor.profile is not Profile.PARENT:
        return set()
    rows = await connection.execute(
        sa.select(parent_links.c.child_id).where(
            parent_links.c.school_id == actor.school_id, parent_links.c.parent_id == actor.person_id
        )
    )
    return {int(row.child_id) for row in rows}


async def teaches(connection: AsyncConnection, actor: Actor, group_id: int) -> bool:
    """Does the actor teach this class or group? Only staff can be enrolled as teachers
    (``directory.enrol``, the roster import), so nobody else costs a query."""
    if actor.profile not in STAFF_PROFILES:
        return False
    found = await connection.execute(
        sa.select(enrolments.c.id).where(
            enrolments.c.school_id == actor.school_id,
            enrolments.c.group_id == group_id,
            enrolments.c.person_id == actor.person_id,
            enrolments.c.role == "teacher",
        )
    )
    return found.first() is not None


# -- people and the school directory ----------------------------------------------------------


async def access_person_by_id(
    connection: AsyncConnection, actor: Actor, person_id: int, action: Action
) -> Row:
    row = (
        await connection.execute(
            sa.select(people).where(people.c.id == person_id, people.c.school_id == actor.school_id)
        )
    ).first()
    if row is None:
        raise NotFound(PERSON_NOT_FOUND)
    is_child = person_id in await child_ids(connection, actor)
    enforce(
        person_decision(
            actor,
            action,
            target_id=person_id,
            target_school_id=row.school_id,
            target_is_child_of_actor=is_child,
        )
    )
    return row


def access_school_directory(actor: Actor, action: Action) -> None:
    """The actor's school directory as a whole: staff list it, administrators manage it
    (people, groups, activation codes, roster imports)."""
    enforce(directory_decision(actor, action, school_id=actor.school_id))


# -- classes and groups ---------------------------------------------------------------------


async def _group_row(connection: AsyncConnection, actor: Actor, group_id: int) -> Row | None:
    return (
        await connection.execute(
            sa.select(groups).where(groups.c.id == group_id, groups.c.school_id == actor.school_id)
        )
    ).first()


async def access_group_by_id(
    connection: AsyncConnection, actor: Actor, group_id: int, action: Action
) -> Row:
    row = await _group_row(connection, actor, group_id)
    if row is None:
        raise NotFound(GROUP_NOT_FOUND)
    member = False
    if actor.profile in (Profile.PUPIL, Profile.PARENT):
        members = {actor.person_id} | await child_ids(connection, actor)
        member = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(enrolments)
                .where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.group_id == group_id,
                    enrolments.c.person_id.in_(members),
                )
            )
        ).scalar_one() > 0
    enforce(
        group_decision(
            actor, action, group_school_id=row.school_id, actor_or_child_is_member=member
        ),
        GROUP_NOT_FOUND,
    )
    return row


async def access_group_for_teaching(
    connection: AsyncConnection, actor: Actor, group_id: int
) -> Row:
    """A class or group the actor teaches, to set homework for it."""
    row = await _group_row(connection, actor, group_id)
    if row is None:
        raise NotFound(GROUP_NOT_FOUND, field="group_id")
    if not await teaches(connection, actor, group_id):
        if actor.profile in STAFF_PROFILES:
            raise Forbidden(NOT_YOUR_CLASS, field="group_id")
        # Pupils and parents only learn about their own groups.
        members = {actor.person_id} | await child_ids(connection, actor)
        enrolled = await connection.execute(
            sa.select(enrolments.c.id).where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.group_id == group_id,
                enrolments.c.person_id.in_(members),
            )
        )
        if enrolled.first() is None:
            raise NotFound(GROUP_NOT_FOUND, field="group_id")
        raise Forbidden(NOT_YOUR_CLASS, field="group_id")
    return row


async def access_group_for_virtual_class(
    connection: AsyncConnection, actor: Actor, group_id: int
) -> Row:
    """A class or group the actor teaches, to start a virtual class for it now. Pupils and
    parents are not told whether the group exists, even their own."""
    row = await _group_row(connection, actor, group_id)
    teaching = row is not None and await teaches(connection, actor, group_id)
    if row is None or (not teaching and actor.profile not in STAFF_PROFILES):
        raise NotFound(GROUP_NOT_FOUND)
    if not teaching:
        raise Forbidden(NOT_YOUR_VIRTUAL_CLASS, field="group_id")
    return row


async def access_groups_for_conversation(
    connection: AsyncConnection, actor: Actor, group_ids: Sequence[int]
) -> None:
    """Classes and groups (distinct ids) whose pupils or parents the actor may write to:
    any of their school's (the profiles allowed at all are checked before, by
    ``group_refusal``). One of another school is an unknown group in the form."""
    found = (
        await connection.execute(
            sa.select(sa.func.count())
            .select_from(groups)
            .where(groups.c.school_id == actor.school_id, groups.c.id.in_(group_ids))
        )
    ).scalar_one()
    if found != len(group_ids):
        raise InvalidInput(GROUP_NOT_FOUND, field="group_ids")


async def access_groups_for_announcement(
    connection: AsyncConnection, actor: Actor, group_ids: Sequence[int]
) -> None:
    """Classes and groups (distinct ids) the actor may post one announcement to: all of
    their school's for staff and administrators, those they teach for a teacher (the
    profiles allowed at all are checked before, by ``announcement_refusal``)."""
    await access_groups_for_conversation(connection, actor, group_ids)
    if actor.profile is Profile.TEACHER:
        taught = (
            await connection.execute(
                sa.select(sa.func.count(sa.distinct(enrolments.c.group_id))).where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.person_id == actor.person_id,
                    enrolments.c.role == "teacher",
                    enrolments.c.group_id.in_(group_ids),
                )
            )
        ).scalar_one()
        refusal = announcement_refusal(actor, teaches_every_group=taught == len(group_ids))
        if refusal is not None:
            raise Forbidden(refusal, field="group_ids")


async def visible_groups(connection: AsyncConnection, actor: Actor) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``groups`` (besides the school) keeping the classes and groups the
    actor may list: none for staff; for pupils and parents, their own or their children's."""
    if actor.profile in STAFF_PROFILES:
        return []
    members = {actor.person_id} | await child_ids(connection, actor)
    return [
        groups.c.id.in_(
            sa.select(enrolments.c.group_id).where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.person_id.in_(members),
            )
        )
    ]


# -- classwork: homework, hand-ins, files --------------------------------------------------


async def is_set_for(connection: AsyncConnection, work: Row, pupil_ids: set[int]) -> set[int]:
    """Which of ``pupil_ids`` the homework ``work`` is set for."""
    if not pupil_ids:
        return set()
    mapping = work._mapping
    if mapping["chosen_pupils"]:
        query = sa.select(homework_targets.c.pupil_id).where(
            homework_targets.c.school_id == mapping["school_id"],
            homework_targets.c.homework_id == mapping["id"],
            homework_targets.c.pupil_id.in_(pupil_ids),
        )
    else:
        query = sa.select(enrolments.c.person_id).where(
            enrolments.c.school_id == mapping["school_id"],
            enrolments.c.group_id == mapping["group_id"],
            enrolments.c.role == "pupil",
            enrolments.c.person_id.in_(pupil_ids),
        )
    return {row[0] for row in await connection.execute(query)}


async def access_homework_by_id(
    connection: AsyncConnection, actor: Actor, homework_id: int, action: Action, *, now: datetime
) -> Row:
    row, _teaching = await _homework_and_teaching(connection, actor, homework_id, action, now=now)
    return row


async def access_hand_ins_by_homework_id(
    connection: AsyncConnection, actor: Actor, homework_id: int, *, now: datetime
) -> Row:
    """A homework whose every hand-in the actor may list: teachers of its group, staff and
    administrators. Whoever may not read the homework gets "not found"; pupils, parents
    and teachers of other groups who may, a refusal."""
    work, teaching = await _homework_and_teaching(
        connection, actor, homework_id, Action.READ, now=now
    )
    if actor.profile not in STAFF_PROFILES or (actor.profile is Profile.TEACHER and not teaching):
        raise Forbidden(NOT_YOUR_CLASS)
    return work


async def _homework_and_teaching(
    connection: AsyncConnection, actor: Actor, homework_id: int, action: Action, *, now: datetime
) -> tuple[Row, bool]:
    """The homework the actor may read or change, and whether they teach its group (for
    the callers that decide more, so nobody asks the database twice)."""
    row = (
        await connection.execute(
            sa.select(homework).where(
                homework.c.id == homework_id,
                homework.c.school_id == actor.school_id,
                homework.c.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound(HOMEWORK_NOT_FOUND)
    for_actor_or_child = False
    if actor.profile in (Profile.PUPIL, Profile.PARENT):
        members = {actor.person_id} | await child_ids(connection, actor)
        for_actor_or_child = bool(await is_set_for(connection, row, members))
    teaching = actor.profile in STAFF_PROFILES and await teaches(connection, actor, row.group_id)
    enforce(
        homework_decision(
            actor,
            action,
            school_id=row.school_id,
            teaches_group=teaching,
            for_actor_or_child=for_actor_or_child,
            published=row.publish_at <= now,
        ),
        HOMEWORK_NOT_FOUND,
        NOT_YOUR_CLASS if actor.profile in STAFF_PROFILES else READ_ONLY,
    )
    return row, teaching


async def access_hand_in_by_id(
    connection: AsyncConnection,
    actor: Actor,
    homework_id: int,
    pupil_id: int,
    right: HandInRight,
    *,
    now: datetime,
) -> tuple[Row, Row | None]:
    """The homework and ``pupil_id``'s hand-in for it (None if nothing happened yet)."""
    work, teaching = await _homework_and_teaching(
        connection, actor, homework_id, Action.READ, now=now
    )
    if not await is_set_for(connection, work, {pupil_id}):
        raise NotFound(HAND_IN_NOT_FOUND)
    children = await child_ids(connection, actor)
    enforce(
        hand_in_decision(
            actor,
            right,
            school_id=work.school_id,
            pupil_id=pupil_id,
            teaches_group=teaching,
            is_parent_of_pupil=pupil_id in children,
        ),
        HAND_IN_NOT_FOUND,
        NOT_YOUR_CLASS if actor.profile in STAFF_PROFILES else READ_ONLY,
    )
    hand_in = (
        await connection.execute(
            sa.select(hand_ins).where(
                hand_ins.c.school_id == actor.school_id,
                hand_ins.c.homework_id == homework_id,
                hand_ins.c.pupil_id == pupil_id,
            )
        )
    ).first()
    return work, hand_in


async def access_file_by_id(
    connection: AsyncConnection, actor: Actor, file_id: str, *, now: datetime
) -> Row:
    """A file the actor uploaded, or one attached to homework or a hand-in they may read."""
    row = (
        await connection.execute(
            sa.select(files).where(files.c.id == file_id, files.c.school_id == actor.school_id)
        )
    ).first()
    if row is None:
        raise NotFound(FILE_NOT_FOUND)
    reachable = False
    if row.owner_id != actor.person_id:
        reachable = await _reachable(connection, actor, file_id, now=now)
    enforce(
        file_decision(actor, school_id=row.school_id, owner_id=row.owner_id, reachable=reachable),
        FILE_NOT_FOUND,
    )
    return row


async def _reachable(
    connection: AsyncConnection, actor: Actor, file_id: str, *, now: datetime
) -> bool:
    attached_to = await connection.execute(
        sa.select(homework_attachments.c.homework_id).where(
            homework_attachments.c.school_id == actor.school_id,
            homework_attachments.c.file_id == file_id,
        )
    )
    for (homework_id,) in attached_to.all():
        try:
            await access_homework_by_id(connection, actor, homework_id, Action.READ, now=now)
        except (NotFound, Forbidden):
            continue
        return True
    handed_in_with = await connection.execute(
        sa.select(hand_ins.c.homework_id, hand_ins.c.pupil_id)
        .join(hand_in_files, hand_in_files.c.hand_in_id == hand_ins.c.id)
        .where(hand_in_files.c.school_id == actor.school_id, hand_in_files.c.file_id == file_id)
    )
    for homework_id, pupil_id in handed_in_with.all():
        try:
            await access_hand_in_by_id(
                connection, actor, homework_id, pupil_id, HandInRight.READ, now=now
            )
        except (NotFound, Forbidden):
            continue
        return True
    return False


# -- messages: conversations and announcements ----------------------------------------------


@dataclass(frozen=True)
class ConversationAccess:
    row: Row
    participant: Row | None
    moderator: bool


async def access_conversation_by_id(
    connection: AsyncConnection, actor: Actor, conversation_id: int, action: ConversationAction
) -> ConversationAccess:
    row = (
        await connection.execute(
            sa.select(conversations).where(
                conversations.c.school_id == actor.school_id,
                conversations.c.id == conversation_id,
            )
        )
    ).first()
    if row is None:
        raise NotFound(CONVERSATION_NOT_FOUND)
    participant = (
        await connection.execute(
            sa.select(conversation_participants).where(
                conversation_participants.c.school_id == actor.school_id,
                conversation_participants.c.conversation_id == conversation_id,
                conversation_participants.c.person_id == actor.person_id,
            )
        )
    ).first()
    open_report = False
    if participant is None and actor.profile in MODERATORS:
        open_report = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(message_reports)
                .join(messages, messages.c.id == message_reports.c.message_id)
                .where(
                    message_reports.c.school_id == actor.school_id,
                    messages.c.school_id == actor.school_id,
                    messages.c.conversation_id == conversation_id,
                    message_reports.c.resolved_at.is_(None),
                )
            )
        ).scalar_one() > 0
    decision = conversation_decision(
        actor,
        action,
        school_id=int(row.school_id),
        is_participant=participant is not None,
        started_by_actor=row.started_by == actor.person_id,
        replies_allowed=bool(row.replies_allowed),
        has_open_report=open_report,
    )
    forbidden = {
        ConversationAction.REPLY: REPLIES_CLOSED,
        ConversationAction.MODERATE: ONLY_MODERATORS,
    }.get(action, NOT_A_PARTICIPANT)
    enforce(decision, CONVERSATION_NOT_FOUND, forbidden)
    return ConversationAccess(
        row=row, participant=participant, moderator=actor.profile in MODERATORS
    )


async def access_message_by_id(
    connection: AsyncConnection, actor: Actor, message_id: int, action: ConversationAction
) -> Row:
    """A message, to report or hide it: as its conversation decides, and "not found" as a
    message when the conversation is not the actor's to see."""
    row = (
        await connection.execute(
            sa.select(messages).where(
                messages.c.school_id == actor.school_id, messages.c.id == message_id
            )
        )
    ).first()
    if row is None:
        raise NotFound(MESSAGE_NOT_FOUND)
    try:
        await access_conversation_by_id(connection, actor, int(row.conversation_id), action)
    except NotFound:
        raise NotFound(MESSAGE_NOT_FOUND) from None
    return row


async def access_attachment_by_id(
    connection: AsyncConnection, actor: Actor, attachment_id: int
) -> Row:
    """A file attached to a message whose conversation the actor may read, until the
    message is hidden; with its message's conversation id and hiding time."""
    row = (
        await connection.execute(
            sa.select(message_attachments, messages.c.conversation_id, messages.c.hidden_at)
            .join(messages, messages.c.id == message_attachments.c.message_id)
            .where(
                message_attachments.c.school_id == actor.school_id,
                messages.c.school_id == actor.school_id,
                message_attachments.c.id == attachment_id,
            )
        )
    ).first()
    if row is None or row.hidden_at is not None:
        raise NotFound(ATTACHMENT_NOT_FOUND)
    try:
        await access_conversation_by_id(
            connection, actor, int(row.conversation_id), ConversationAction.READ
        )
    except NotFound:
        raise NotFound(ATTACHMENT_NOT_FOUND) from None
    return row


async def access_announcement_by_id(
    connection: AsyncConnection, actor: Actor, announcement_id: int, action: AnnouncementAction
) -> tuple[Row, Row | None]:
    """The announcement and the actor's recipient row (None if not a recipient)."""
    row = (
        await connection.execute(
            sa.select(announcements).where(
                announcements.c.school_id == actor.school_id,
                announcements.c.id == announcement_id,
                announcements.c.hidden_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound(ANNOUNCEMENT_NOT_FOUND)
    recipient = (
        await connection.execute(
            sa.select(announcement_recipients).where(
                announcement_recipients.c.school_id == actor.school_id,
                announcement_recipients.c.announcement_id == announcement_id,
                announcement_recipients.c.person_id == actor.person_id,
            )
        )
    ).first()
    decision = announcement_decision(
        actor,
        action,
        school_id=int(row.school_id),
        is_author=row.author_id == actor.person_id,
        is_recipient=recipient is not None,
    )
    forbidden = ONLY_RECIPIENTS if action is AnnouncementAction.MARK_READ else ONLY_OVERSEERS
    enforce(decision, ANNOUNCEMENT_NOT_FOUND, forbidden)
    return row, recipient


# -- the timetable ------------------------------------------------------------------------


async def access_lesson_by_id(
    connection: AsyncConnection, actor: Actor, lesson_id: int, action: Action
) -> Lesson:
    """The only way to reach a lesson for an actor (see :func:`lesson_decision`)."""
    # The lesson is loaded as the timetable loads every lesson; the timetable imports
    # this module for its own checks, so its loader is imported here, when first asked.
    from preau.actions.timetable.lessons import load_lessons  # noqa: PLC0415 — see above

    found = await load_lessons(connection, actor.school_id, lesson_ids=[lesson_id])
    if not found:
        raise NotFound(LESSON_NOT_FOUND, field="lesson_id")
    lesson = found[0]
    member = False
    if actor.profile in (Profile.PUPIL, Profile.PARENT):
        members = {actor.person_id} | await child_ids(connection, actor)
        member = (
            await connection.execute(
                sa.select(enrolments.c.id).where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.group_id == lesson.group_id,
                    enrolments.c.person_id.in_(members),
                )
            )
        ).first() is not None
    decision = lesson_decision(
        actor,
        action,
        lesson_school_id=actor.school_id,
        actor_teaches_lesson=lesson.teacher_id == actor.person_id,
        actor_or_child_in_group=member,
    )
    if decision is Decision.HIDE:  # the lesson forms name the field
        raise NotFound(LESSON_NOT_FOUND, field="lesson_id")
    enforce(decision)
    return lesson


# -- virtual classes -------------------------------------------------------------------------


async def access_room_by_id(
    connection: AsyncConnection, actor: Actor, room_id: int
) -> tuple[Row, Role]:
    """The only way to reach a virtual room for an actor: the room and the actor's role."""
    room = (
        await connection.execute(
            sa.select(virtual_rooms, groups.c.name.label("group_name"))
            .join(groups, groups.c.id == virtual_rooms.c.group_id)
            .where(virtual_rooms.c.id == room_id, virtual_rooms.c.school_id == actor.school_id)
        )
    ).first()
    if room is None:
        raise NotFound(ROOM_NOT_FOUND)
    in_group = (
        await connection.execute(
            sa.select(enrolments.c.id).where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.group_id == room.group_id,
                enrolments.c.person_id == actor.person_id,
                enrolments.c.role == "pupil",
            )
        )
    ).first() is not None
    guest = (
        await connection.execute(
            sa.select(virtual_guests.c.person_id).where(
                virtual_guests.c.school_id == actor.school_id,
                virtual_guests.c.room_id == room_id,
                virtual_guests.c.person_id == actor.person_id,
            )
        )
    ).first() is not None
    decision, role = room_decision(
        actor,
        room_school_id=room.school_id,
        is_host=room.teacher_id == actor.person_id,
        is_pupil_of_group=in_group,
        is_guest=guest,
    )
    if decision is not Decision.ALLOW or role is None:
        raise NotFound(ROOM_NOT_FOUND)
    return room, role


def joinable_rooms(actor: Actor) -> sa.ColumnElement[bool]:
    """A condition on ``virtual_rooms`` (besides the school) keeping the rooms the actor
    may join, as :func:`access_room_by_id` decides: hosted, their class's (pupils), or
    invited to."""
    my_groups = sa.select(enrolments.c.group_id).where(
        enrolments.c.school_id == actor.school_id,
        enrolments.c.person_id == actor.person_id,
        enrolments.c.role == "pupil",
    )
    invited = sa.select(virtual_guests.c.room_id).where(
        virtual_guests.c.school_id == actor.school_id,
        virtual_guests.c.person_id == actor.person_id,
    )
    return sa.or_(
        virtual_rooms.c.teacher_id == actor.person_id,
        virtual_rooms.c.group_id.in_(my_groups) if actor.profile is Profile.PUPIL else sa.false(),
        virtual_rooms.c.id.in_(invited),
    )


# -- the platform ----------------------------------------------------------------------------


async def access_platform_operator(
    connection: AsyncConnection, actor: Actor, operator_uais: str
) -> None:
    """The waiting room is the whole platform's: only administrators of the schools named
    in ``PREAU_OPERATOR_UAIS`` run it. Others are told it is not theirs."""
    allowed = {uai.strip().upper() for uai in operator_uais.split(",") if uai.strip()}
    if actor.profile is Profile.ADMIN and allowed:
        uai = (
            await connection.execute(
                sa.select(schools.c.uai).where(schools.c.id == actor.school_id)
            )
        ).scalar()
        if uai in allowed:
            return
    raise Forbidden(NOT_OPERATOR)


# -- marks (docs/marks.md) -------------------------------------------------------------------


def _marks_refusal(actor: Actor) -> str:
    """What a refusal says: to staff, that the marks are their teachers'; to pupils and
    parents, that they may read but not change them."""
    return NOT_YOUR_MARKS if actor.profile in STAFF_PROFILES else MARKS_READ_ONLY


async def _marks_links(
    connection: AsyncConnection, actor: Actor, group_id: int
) -> tuple[bool, bool]:
    """Whether the actor teaches the group, and whether they (or a child of theirs) are
    one of its pupils: one query whatever the profile."""
    if actor.profile in STAFF_PROFILES:
        related: sa.ColumnElement[bool] = enrolments.c.person_id == actor.person_id
    else:
        children = sa.select(parent_links.c.child_id).where(
            parent_links.c.school_id == actor.school_id,
            parent_links.c.parent_id == actor.person_id,
        )
        related = sa.or_(
            enrolments.c.person_id == actor.person_id, enrolments.c.person_id.in_(children)
        )
    roles = {
        row.role
        for row in await connection.execute(
            sa.select(enrolments.c.role).where(
                enrolments.c.school_id == actor.school_id,
                enrolments.c.group_id == group_id,
                related,
            )
        )
    }
    teaches = actor.profile in STAFF_PROFILES and "teacher" in roles
    return teaches, "pupil" in roles


async def _enforce_marks(
    connection: AsyncConnection,
    actor: Actor,
    action: Action,
    school_id: int,
    group_id: int,
    *,
    whole_class: bool,
    not_found: str,
) -> bool:
    """Decide on a group's marks (the whole book, or one evaluation of it) from the actor's
    links to the group; whether the actor teaches it."""
    teaches, member = await _marks_links(connection, actor, group_id)
    decision = marks_decision(
        actor,
        action,
        school_id=school_id,
        teaches_group=teaches,
        actor_or_child_in_group=member,
        whole_class=whole_class,
    )
    enforce(decision, not_found, _marks_refusal(actor))
    return teaches


async def access_marks_group_by_id(
    connection: AsyncConnection, actor: Actor, group_id: int, action: Action
) -> tuple[sa.Row[tuple[object, ...]], bool]:
    """A class or group whose whole marks book (grid, CSV, new evaluations) the actor may
    read or change, and whether they teach it."""
    row = (
        await connection.execute(
            sa.select(groups).where(groups.c.id == group_id, groups.c.school_id == actor.school_id)
        )
    ).first()
    if row is None:
        raise NotFound(GROUP_NOT_FOUND, field="group_id")
    teaches = await _enforce_marks(
        connection,
        actor,
        action,
        row.school_id,
        group_id,
        whole_class=True,
        not_found=GROUP_NOT_FOUND,
    )
    return row, teaches


async def access_evaluation_by_id(
    connection: AsyncConnection, actor: Actor, evaluation_id: int, action: Action
) -> tuple[sa.Row[tuple[object, ...]], bool]:
    """An evaluation the actor may read (pupils and parents: their own or their child's
    mark on it) or change (the teachers of its group), and whether they teach the group."""
    row = (
        await connection.execute(
            sa.select(evaluations).where(
                evaluations.c.id == evaluation_id,
                evaluations.c.school_id == actor.school_id,
                evaluations.c.deleted_at.is_(None),
            )
        )
    ).first()
    if row is None:
        raise NotFound(EVALUATION_NOT_FOUND, field="evaluation_id")
    teaches = await _enforce_marks(
        connection,
        actor,
        action,
        row.school_id,
        row.group_id,
        whole_class=False,
        not_found=EVALUATION_NOT_FOUND,
    )
    return row, teaches


async def access_report_card_by_pupil_id(
    connection: AsyncConnection, actor: Actor, pupil_id: int
) -> sa.Row[tuple[object, ...]]:
    """The pupil whose report card the actor may read (see ``report_card_decision``)."""
    row = (
        await connection.execute(
            sa.select(people).where(
                people.c.id == pupil_id,
                people.c.school_id == actor.school_id,
                people.c.profile == Profile.PUPIL.value,
            )
        )
    ).first()
    if row is None:
        raise NotFound(MARKS_PUPIL_NOT_FOUND, field="pupil_id")
    is_child = False
    teaches_pupil = False
    if actor.profile is Profile.PARENT:
        is_child = pupil_id in await child_ids(connection, actor)
    elif actor.profile is Profile.TEACHER:
        taught = enrolments.alias("taught")
        teaches_pupil = (
            await connection.execute(
                sa.select(enrolments.c.id)
                .join(taught, taught.c.group_id == enrolments.c.group_id)
                .where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.person_id == pupil_id,
                    enrolments.c.role == "pupil",
                    taught.c.person_id == actor.person_id,
                    taught.c.role == "teacher",
                )
                .limit(1)
            )
        ).first() is not None
    decision = report_card_decision(
        actor,
        pupil_id=pupil_id,
        pupil_school_id=row.school_id,
        is_child_of_actor=is_child,
        teaches_pupil=teaches_pupil,
    )
    enforce(decision, MARKS_PUPIL_NOT_FOUND, _marks_refusal(actor))
    return row


def access_marks_settings(actor: Actor, action: Action) -> None:
    """A school's terms and way of counting (no row to load: the school is the actor's)."""
    enforce(marks_settings_decision(actor, action, school_id=actor.school_id))
