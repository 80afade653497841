"""Messages: conversations under the school's who-may-write-to-whom rules, class
announcements with read receipts, moderation, preferences, and the live events that
follow every change (published after the commit).

Every query filters on the actor's school. Conversations and announcements are fetched
for an actor only through ``access_conversation_by_id`` and ``access_announcement_by_id``
(:mod:`preau.actions.access`).
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import (
    ATTACHMENT_NOT_FOUND,
    MESSAGE_NOT_FOUND,
    ONLY_MODERATORS,
    ConversationAccess,
    access_announcement_by_id,
    access_attachment_by_id,
    access_conversation_by_id,
    access_groups_for_announcement,
    access_groups_for_conversation,
    access_message_by_id,
    child_ids,
    enforce,
)
from preau.actions.classwork_files import StoredFile, Upload, check_uploads
from preau.actions.context import Services
from preau.adapters.files import open_existing
from preau.adapters.sql.schema import (
    announcement_groups,
    announcement_recipients,
    announcements,
    conversation_participants,
    conversations,
    enrolments,
    groups,
    message_attachments,
    message_reports,
    messages,
    messaging_settings,
    notification_preferences,
    parent_links,
    people,
    schools,
)
from preau.domain.access import messaging_settings_decision
from preau.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from preau.domain.messages import (
    ADDRESS_GROUPS,
    INACTIVE_RECIPIENT,
    MAX_ATTACHMENTS,
    MAX_GROUPS,
    MAX_RECIPIENTS,
    MODERATORS,
    AnnouncementAction,
    AnnouncementDraft,
    AnnouncementsPage,
    AnnouncementView,
    AttachmentUpload,
    AttachmentView,
    Contact,
    Contacts,
    ConversationAction,
    ConversationDraft,
    ConversationSummary,
    ConversationView,
    GroupRef,
    InboxPage,
    MessageView,
    NotificationPreferences,
    PersonRef,
    Receipt,
    Receipts,
    ReportView,
    SchoolMessaging,
    SenderCircle,
    UnreadCounts,
    announcement_refusal,
    check_body,
    check_reason,
    check_school_messaging,
    check_subject,
    display_name,
    group_refusal,
    is_quiet,
    write_refusal,
)
from preau.domain.people import Actor, Profile
from preau.domain.zones import zone_named
from preau.i18n import lazy
from preau.live import LiveEvent

UNKNOWN_PEOPLE = lazy(
    "Some recipients do not exist or are not in your school. Choose them from the list."
)
UNKNOWN_GROUPS = lazy("This class or group does not exist or is not in your school.")
NO_RECIPIENT = lazy("Choose at least one recipient.")
TOO_MANY_RECIPIENTS = lazy("A message can go to at most {limit} people at once.")
TOO_MANY_GROUPS = lazy("Choose at most {limit} classes or groups at once.")
EMPTY_GROUPS = lazy("Nobody would receive this: the classes or groups chosen have no pupils yet.")
NO_GROUP_CHOSEN = lazy("Choose at least one class or group.")
OWN_MESSAGE = lazy("You cannot report your own message.")
TOO_MANY_FILES = lazy("A message can carry at most {limit} files.")
ALREADY_REPORTED = lazy("You have already reported this message. The school staff will look at it.")

INBOX_PAGE_SIZE = 30
MESSAGES_SHOWN = 500
CONTACTS_SHOWN = 300
IN_CHUNK = 900  # ids per IN (...) list, under SQLite's limit on parameters

_json = msgspec.json.Encoder()


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


def _person_ref(row: Any, prefix: str = "") -> PersonRef:
    mapping = row._mapping
    return PersonRef(
        id=int(mapping[f"{prefix}id"]),
        name=display_name(mapping[f"{prefix}given_name"], mapping[f"{prefix}family_name"]),
        profile=Profile(mapping[f"{prefix}profile"]),
    )


def _people_columns(table: Any, prefix: str) -> list[sa.ColumnElement[Any]]:
    return [
        table.c.id.label(f"{prefix}id"),
        table.c.given_name.label(f"{prefix}given_name"),
        table.c.family_name.label(f"{prefix}family_name"),
        table.c.profile.label(f"{prefix}profile"),
    ]


# -- school rules ----------------------------------------------------------------------


async def load_rules(
    connection: AsyncConnection, school_id: int
) -> tuple[SchoolMessaging, ZoneInfo]:
    """The school's messaging rules (defaults when it never changed them) and time zone."""
    row = (
        await connection.execute(
            sa.select(messaging_settings, schools.c.timezone)
            .select_from(schools)
            .outerjoin(messaging_settings, messaging_settings.c.school_id == schools.c.id)
            .where(schools.c.id == school_id)
        )
    ).first()
    if row is None or row.pupils_write_to_class is None:
        return SchoolMessaging(), zone_named(row.timezone if row is not None else None)
    return (
        SchoolMessaging(
            pupils_write_to_class=bool(row.pupils_write_to_class),
            pupils_write_to_teachers=bool(row.pupils_write_to_teachers),
            parents_write_to_teachers=bool(row.parents_write_to_teachers),
            quiet_enabled=bool(row.quiet_enabled),
            quiet_from=f"{row.quiet_from_minute // 60:02d}:{row.quiet_from_minute % 60:02d}",
            quiet_until=f"{row.quiet_until_minute // 60:02d}:{row.quiet_until_minute % 60:02d}",
            quiet_days=[int(day) for day in str(row.quiet_days).split(",") if day.strip()],
        ),
        zone_named(row.timezone),
    )


async def get_messaging_settings(services: Services, actor: Actor) -> SchoolMessaging:
    enforce(
        messaging_settings_decision(actor, school_id=actor.school_id, change=False),
        UNKNOWN_GROUPS,
        ONLY_MODERATORS,
    )
    async with services.engine.connect() as connection:
        rules, _timezone = await load_rules(connection, actor.school_id)
    return rules


async def update_messaging_settings(
    services: Services, actor: Actor, rules: SchoolMessaging
) -> SchoolMessaging:
    enforce(
        messaging_settings_decision(actor, school_id=actor.school_id, change=True),
        UNKNOWN_GROUPS,
        ONLY_MODERATORS,
    )
    rules = check_school_messaging(rules)
    start_hours, start_minutes = (int(part) for part in rules.quiet_from.split(":"))
    end_hours, end_minutes = (int(part) for part in rules.quiet_until.split(":"))
    values = {
        "pupils_write_to_class": rules.pupils_write_to_class,
        "pupils_write_to_teachers": rules.pupils_write_to_teachers,
        "parents_write_to_teachers": rules.parents_write_to_teachers,
        "quiet_enabled": rules.quiet_enabled,
        "quiet_from_minute": start_hours * 60 + start_minutes,
        "quiet_until_minute": end_hours * 60 + end_minutes,
        "quiet_days": ",".join(str(day) for day in rules.quiet_days),
        "updated_at": services.now(),
    }
    async with services.engine.begin() as connection:
        updated = await connection.execute(
            messaging_settings.update()
            .where(messaging_settings.c.school_id == actor.school_id)
            .values(**values)
        )
        if updated.rowcount == 0:
            await connection.execute(
                messaging_settings.insert().values(school_id=actor.school_id, **values)
            )
    return rules


# -- who the sender is to the rules --------------------------------------------------------


async def sender_circle(connection: AsyncConnection, actor: Actor) -> SenderCircle:
    """The teachers of the pupil's (or the parent's children's) groups, and the pupil's
    classmates: two indexed queries, none for teachers and staff."""
    if actor.profile is Profile.PUPIL:
        members = {actor.person_id}
    elif actor.profile is Profile.PARENT:
        members = await child_ids(connection, actor)
    else:
        return SenderCircle()
    if not members:
        return SenderCircle()
    own_groups = (
        sa.select(enrolments.c.group_id)
        .where(
            enrolments.c.school_id == actor.school_id,
            enrolments.c.person_id.in_(members),
            enrolments.c.role == "pupil",
        )
        .scalar_subquery()
    )
    rows = await connection.execute(
        sa.select(enrolments.c.person_id, enrolments.c.role, groups.c.kind)
        .join(groups, groups.c.id == enrolments.c.group_id)
        .where(
            enrolments.c.school_id == actor.school_id,
            groups.c.school_id == actor.school_id,
            groups.c.active.is_(True),
            enrolments.c.group_id.in_(own_groups),
        )
    )
    teachers: set[int] = set()
    classmates: set[int] = set()
    for row in rows:
        if row.role == "teacher":
            teachers.add(int(row.person_id))
        elif row.kind == "class" and actor.profile is Profile.PUPIL:
            classmates.add(int(row.person_id))
    classmates.discard(actor.person_id)
    return SenderCircle(teacher_ids=frozenset(teachers), classmate_ids=frozenset(classmates))


# -- unread counts and live events ----------------------------------------------------------


async def counts_for(
    connection: AsyncConnection, school_id: int, person_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    """Unread messages and announcements of each person: two grouped queries per chunk."""
    counts = {person_id: [0, 0] for person_id in person_ids}
    for chunk in _chunks(list(counts)):
        message_rows = await connection.execute(
            sa.select(
                conversation_participants.c.person_id,
                sa.func.sum(conversation_participants.c.unread_count).label("n"),
            )
            .where(
                conversation_participants.c.school_id == school_id,
                conversation_participants.c.person_id.in_(chunk),
            )
            .group_by(conversation_participants.c.person_id)
        )
        for row in message_rows:
            counts[int(row.person_id)][0] = int(row.n or 0)
        announcement_rows = await connection.execute(
            sa.select(announcement_recipients.c.person_id, sa.func.count().label("n"))
            .join(announcements, announcements.c.id == announcement_recipients.c.announcement_id)
            .where(
                announcement_recipients.c.school_id == school_id,
                announcements.c.school_id == school_id,
                announcement_recipients.c.person_id.in_(chunk),
                announcement_recipients.c.read_at.is_(None),
                announcements.c.hidden_at.is_(None),
            )
            .group_by(announcement_recipients.c.person_id)
        )
        for row in announcement_rows:
            counts[int(row.person_id)][1] = int(row.n)
    return {person_id: (pair[0], pair[1]) for person_id, pair in counts.items()}


async def unread_counts(services: Services, actor: Actor) -> UnreadCounts:
    async with services.engine.connect() as connection:
        messages_count, announcements_count = (
            await counts_for(connection, actor.school_id, [actor.person_id])
        )[actor.person_id]
    return UnreadCounts(messages=messages_count, announcements=announcements_count)


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'


async def unread_counts_cached(services: Services, actor: Actor) -> tuple[bytes, str]:
    """The unread counts as JSON and their ETag, from this process's cache when warm."""
    cached = services.live.cache.get(actor.person_id, "unread")
    if cached is not None:
        return cached
    ticket = services.live.cache.ticket()
    body = _json.encode(await unread_counts(services, actor))
    etag = etag_of(body)
    services.live.cache.put(actor.person_id, "unread", body, etag, ticket)
    return body, etag


async def announce_change(
    services: Services,
    school_id: int,
    person_ids: Iterable[int],
    kind: str,
    *,
    title: str = "",
) -> None:
    """After the commit: tell every process the new counts of the people concerned."""
    unique = sorted(set(person_ids))
    if not unique:
        return
    async with services.engine.connect() as connection:
        counts = await counts_for(connection, school_id, unique)
        rules, zone = await load_rules(connection, school_id)
    notify = not is_quiet(rules, services.now().astimezone(zone))
    await services.live.publish(
        services.state,
        LiveEvent(
            kind=kind, origin="", school_id=school_id, counts=counts, notify=notify, title=title
        ),
    )


# -- conversations ----------------------------------------------------------------------


async def _resolve_recipients(
    connection: AsyncConnection, actor: Actor, draft: ConversationDraft
) -> list[int]:
    """Everyone the draft addresses, checked against the rules; raises before any write."""
    person_ids = sorted(set(draft.person_ids))
    group_ids = sorted(set(draft.group_ids) | set(draft.parents_of_group_ids))
    if len(person_ids) > MAX_RECIPIENTS:
        raise InvalidInput(TOO_MANY_RECIPIENTS, field="person_ids", limit=MAX_RECIPIENTS)
    if len(group_ids) > MAX_GROUPS:
        raise InvalidInput(TOO_MANY_GROUPS, field="group_ids", limit=MAX_GROUPS)
    if group_ids and (refusal := group_refusal(actor)) is not None:
        raise Forbidden(refusal, field="group_ids")
    rules, _timezone = await load_rules(connection, actor.school_id)
    circle = await sender_circle(connection, actor)
    chosen: list[int] = []
    if person_ids:
        rows = (
            await connection.execute(
                sa.select(
                    people.c.id,
                    people.c.profile,
                    people.c.active,
                    people.c.given_name,
                    people.c.family_name,
                ).where(people.c.school_id == actor.school_id, people.c.id.in_(person_ids))
            )
        ).all()
        if len(rows) != len(person_ids):
            raise InvalidInput(UNKNOWN_PEOPLE, field="person_ids")
        for row in rows:
            contact = Contact(
                person_id=int(row.id),
                school_id=actor.school_id,
                profile=Profile(row.profile),
                active=bool(row.active),
                name=display_name(row.given_name, row.family_name),
            )
            refusal = write_refusal(actor, contact, circle, rules)
            if refusal is not None:
                if refusal == INACTIVE_RECIPIENT:
                    raise InvalidInput(refusal, field="person_ids", name=contact.name)
                raise Forbidden(refusal, field="person_ids")
            chosen.append(contact.person_id)
    if group_ids:
        await access_groups_for_conversation(connection, actor, group_ids)
        chosen.extend(await _pupils_of(connection, actor.school_id, sorted(set(draft.group_ids))))
        chosen.extend(
            await _parents_of(
                connection,
                actor.school_id,
                await _pupils_of(
                    connection, actor.school_id, sorted(set(draft.parents_of_group_ids))
                ),
            )
        )
    recipients = sorted(set(chosen) - {actor.person_id})
    if not recipients:
        raise InvalidInput(NO_RECIPIENT if not group_ids else EMPTY_GROUPS, field="person_ids")
    if len(recipients) > MAX_RECIPIENTS:
        raise InvalidInput(TOO_MANY_RECIPIENTS, field="group_ids", limit=MAX_RECIPIENTS)
    return recipients


async def _pupils_of(
    connection: AsyncConnection, school_id: int, group_ids: Sequence[int]
) -> list[int]:
    if not group_ids:
        return []
    rows = await connection.execute(
        sa.select(enrolments.c.person_id)
        .join(people, people.c.id == enrolments.c.person_id)
        .where(
            enrolments.c.school_id == school_id,
            people.c.school_id == school_id,
            enrolments.c.group_id.in_(group_ids),
            enrolments.c.role == "pupil",
            people.c.active.is_(True),
        )
    )
    return sorted({int(row.person_id) for row in rows})


async def _parents_of(
    connection: AsyncConnection, school_id: int, pupil_ids: Sequence[int]
) -> list[int]:
    found: set[int] = set()
    for chunk in _chunks(pupil_ids):
        rows = await connection.execute(
            sa.select(parent_links.c.parent_id)
            .join(people, people.c.id == parent_links.c.parent_id)
            .where(
                parent_links.c.school_id == school_id,
                people.c.school_id == school_id,
                parent_links.c.child_id.in_(chunk),
                people.c.active.is_(True),
            )
        )
        found.update(int(row.parent_id) for row in rows)
    return sorted(found)


@asynccontextmanager
async def _stored_attachments(
    services: Services, uploads: Sequence[AttachmentUpload]
) -> AsyncIterator[list[StoredFile]]:
    """Check the files (the files port's size and type limits, types sniffed from the
    content) and store their bytes; if the block fails they are removed again, so a
    refused message leaves nothing behind."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise InvalidInput(TOO_MANY_FILES, field="attachments", limit=MAX_ATTACHMENTS)
    prepared = check_uploads(services, [Upload(name=u.name, data=u.data) for u in uploads])
    stored: list[StoredFile] = []
    try:
        for upload, item in zip(uploads, prepared, strict=True):
            await services.files.put(item.key, upload.data, content_type=item.content_type)
            stored.append(item)
        yield prepared
    except BaseException:
        for item in stored:
            with contextlib.suppress(Exception):
                await services.files.delete(item.key)
        raise


async def _record_attachments(
    connection: AsyncConnection, school_id: int, message_id: int, stored: list[StoredFile]
) -> None:
    if stored:
        await connection.execute(
            message_attachments.insert(),
            [
                {
                    "school_id": school_id,
                    "message_id": message_id,
                    "file_key": item.key,
                    "name": item.name,
                    "content_type": item.content_type,
                    "size": item.size,
                }
                for item in stored
            ],
        )


async def start_conversation(services: Services, actor: Actor, draft: ConversationDraft) -> int:
    """Start a conversation; returns its id. Nothing is stored if any check fails."""
    subject = check_subject(draft.subject)
    body = check_body(draft.body)
    now = services.now()
    async with (
        _stored_attachments(services, draft.attachments) as stored,
        services.engine.begin() as connection,
    ):
        recipients = await _resolve_recipients(connection, actor, draft)
        await services.sending.hit(actor.school_id, actor.person_id)
        result = await connection.execute(
            conversations.insert().values(
                school_id=actor.school_id,
                subject=subject,
                started_by=actor.person_id,
                replies_allowed=draft.replies_allowed,
                created_at=now,
                last_message_at=now,
                message_count=1,
            )
        )
        conversation_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        message = await connection.execute(
            messages.insert().values(
                school_id=actor.school_id,
                conversation_id=conversation_id,
                author_id=actor.person_id,
                body=body,
                created_at=now,
            )
        )
        message_id = int(message.inserted_primary_key[0])  # type: ignore[index]
        await _record_attachments(connection, actor.school_id, message_id, stored)
        await connection.execute(
            conversation_participants.insert(),
            [
                {
                    "school_id": actor.school_id,
                    "conversation_id": conversation_id,
                    "person_id": person_id,
                    "unread_count": 0 if person_id == actor.person_id else 1,
                    "last_read_message_id": message_id if person_id == actor.person_id else 0,
                    "archived": False,
                    "last_message_at": now,
                }
                for person_id in [actor.person_id, *recipients]
            ],
        )
    await announce_change(services, actor.school_id, [actor.person_id, *recipients], "message")
    return conversation_id


async def reply(
    services: Services,
    actor: Actor,
    conversation_id: int,
    body: str,
    attachments: Sequence[AttachmentUpload] = (),
) -> int:
    """Add a message to a conversation; returns the message id."""
    body = check_body(body)
    now = services.now()
    async with (
        _stored_attachments(services, attachments) as stored,
        services.engine.begin() as connection,
    ):
        await access_conversation_by_id(
            connection, actor, conversation_id, ConversationAction.REPLY
        )
        await services.sending.hit(actor.school_id, actor.person_id)
        result = await connection.execute(
            messages.insert().values(
                school_id=actor.school_id,
                conversation_id=conversation_id,
                author_id=actor.person_id,
                body=body,
                created_at=now,
            )
        )
        message_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        await _record_attachments(connection, actor.school_id, message_id, stored)
        in_conversation = (
            conversation_participants.c.school_id == actor.school_id,
            conversation_participants.c.conversation_id == conversation_id,
        )
        await connection.execute(
            conversation_participants.update()
            .where(*in_conversation, conversation_participants.c.person_id != actor.person_id)
            .values(
                unread_count=conversation_participants.c.unread_count + 1,
                archived=False,
                last_message_at=now,
            )
        )
        await connection.execute(
            conversation_participants.update()
            .where(*in_conversation, conversation_participants.c.person_id == actor.person_id)
            .values(unread_count=0, last_read_message_id=message_id, last_message_at=now)
        )
        await connection.execute(
            conversations.update()
            .where(
                conversations.c.school_id == actor.school_id, conversations.c.id == conversation_id
            )
            .values(last_message_at=now, message_count=conversations.c.message_count + 1)
        )
        participants = await _participant_ids(connection, actor.school_id, conversation_id)
    await announce_change(services, actor.school_id, participants, "message")
    return message_id


async def _participant_ids(
    connection: AsyncConnection, school_id: int, conversation_id: int
) -> list[int]:
    rows = await connection.execute(
        sa.select(conversation_participants.c.person_id).where(
            conversation_participants.c.school_id == school_id,
            conversation_participants.c.conversation_id == conversation_id,
        )
    )
    return [int(row.person_id) for row in rows]


async def get_conversation(
    services: Services, actor: Actor, conversation_id: int
) -> ConversationView:
    async with services.engine.connect() as connection:
        access = await access_conversation_by_id(
            connection, actor, conversation_id, ConversationAction.READ
        )
        return await _conversation_view(connection, actor, access)


async def _conversation_view(
    connection: AsyncConnection, actor: Actor, access: ConversationAccess
) -> ConversationView:
    row = access.row
    conversation_id = int(row.id)
    participant_rows = (
        await connection.execute(
            sa.select(*_people_columns(people, ""))
            .join(
                conversation_participants,
                conversation_participants.c.person_id == people.c.id,
            )
            .where(
                conversation_participants.c.school_id == actor.school_id,
                conversation_participants.c.conversation_id == conversation_id,
                people.c.school_id == actor.school_id,
            )
            .order_by(people.c.family_name, people.c.given_name)
        )
    ).all()
    participants = [_person_ref(participant) for participant in participant_rows]
    by_id = {person.id: person for person in participants}
    message_rows = (
        await connection.execute(
            sa.select(messages, *_people_columns(people, "writer_"))
            .join(people, people.c.id == messages.c.author_id)
            .where(
                messages.c.school_id == actor.school_id,
                messages.c.conversation_id == conversation_id,
            )
            .order_by(messages.c.id.desc())
            .limit(MESSAGES_SHOWN)
        )
    ).all()[::-1]
    attachments: dict[int, list[AttachmentView]] = {}
    if message_rows:
        attachment_rows = await connection.execute(
            sa.select(message_attachments).where(
                message_attachments.c.school_id == actor.school_id,
                message_attachments.c.message_id.in_([m.id for m in message_rows]),
            )
        )
        for attachment in attachment_rows:
            attachments.setdefault(int(attachment.message_id), []).append(
                AttachmentView(
                    id=int(attachment.id),
                    name=attachment.name,
                    content_type=attachment.content_type,
                    size=int(attachment.size),
                    url=f"/messages/attachments/{attachment.id}",
                )
            )
    started_by = by_id.get(int(row.started_by))
    if started_by is None:
        started_by = next(
            (_person_ref(m, "writer_") for m in message_rows if m.author_id == row.started_by),
            PersonRef(id=int(row.started_by), name="?", profile=Profile.STAFF),
        )
    is_participant = access.participant is not None
    return ConversationView(
        id=conversation_id,
        subject=str(row.subject),
        started_by=started_by,
        replies_allowed=bool(row.replies_allowed),
        may_reply=is_participant
        and (bool(row.replies_allowed) or row.started_by == actor.person_id),
        may_moderate=access.moderator,
        archived=bool(access.participant.archived) if access.participant is not None else False,
        participants=participants,
        messages=[
            MessageView(
                id=int(m.id),
                author=_person_ref(m, "writer_"),
                body=None if m.hidden_at is not None else str(m.body),
                hidden=m.hidden_at is not None,
                created_at=m.created_at,
                mine=m.author_id == actor.person_id,
                attachments=attachments.get(int(m.id), []),
            )
            for m in message_rows
        ],
    )


async def mark_conversation_read(services: Services, actor: Actor, conversation_id: int) -> None:
    async with services.engine.begin() as connection:
        access = await access_conversation_by_id(
            connection, actor, conversation_id, ConversationAction.ARCHIVE
        )
        assert access.participant is not None  # the decision allows participants only
        if int(access.participant.unread_count) == 0:
            return
        last = (
            await connection.execute(
                sa.select(sa.func.max(messages.c.id)).where(
                    messages.c.school_id == actor.school_id,
                    messages.c.conversation_id == conversation_id,
                )
            )
        ).scalar_one()
        await connection.execute(
            conversation_participants.update()
            .where(
                conversation_participants.c.school_id == actor.school_id,
                conversation_participants.c.conversation_id == conversation_id,
                conversation_participants.c.person_id == actor.person_id,
            )
            .values(unread_count=0, last_read_message_id=last or 0)
        )
    await announce_change(services, actor.school_id, [actor.person_id], "read")


async def open_conversation(
    services: Services, actor: Actor, conversation_id: int
) -> ConversationView:
    """What a participant's page shows: the conversation, now read."""
    view = await get_conversation(services, actor, conversation_id)
    if view.may_reply or any(p.id == actor.person_id for p in view.participants):
        await mark_conversation_read(services, actor, conversation_id)
    return view


async def set_archived(
    services: Services, actor: Actor, conversation_id: int, archived: bool
) -> None:
    async with services.engine.begin() as connection:
        await access_conversation_by_id(
            connection, actor, conversation_id, ConversationAction.ARCHIVE
        )
        await connection.execute(
            conversation_participants.update()
            .where(
                conversation_participants.c.school_id == actor.school_id,
                conversation_participants.c.conversation_id == conversation_id,
                conversation_participants.c.person_id == actor.person_id,
            )
            .values(archived=archived)
        )
    await announce_change(services, actor.school_id, [actor.person_id], "archive")


async def list_inbox(
    services: Services,
    actor: Actor,
    *,
    archived: bool = False,
    query: str = "",
    page: int = 1,
    page_size: int = INBOX_PAGE_SIZE,
) -> InboxPage:
    """The actor's conversations, newest first; a search looks in subjects and in the
    messages of the actor's own conversations, archived or not."""
    if page < 1:
        raise InvalidInput("The page number starts at 1.", field="page")
    if not 1 <= page_size <= 200:
        raise InvalidInput("A page holds between 1 and 200 items.", field="page_size")
    conditions: list[sa.ColumnElement[bool]] = [
        conversation_participants.c.school_id == actor.school_id,
        conversation_participants.c.person_id == actor.person_id,
    ]
    words = [word for word in query.lower().split()[:5] if word]
    if words:
        for word in words:
            pattern = "%" + word.replace("\\", "").replace("%", "").replace("_", "") + "%"
            conditions.append(
                sa.or_(
                    sa.func.lower(conversations.c.subject).like(pattern),
                    conversations.c.id.in_(
                        sa.select(messages.c.conversation_id).where(
                            messages.c.school_id == actor.school_id,
                            messages.c.hidden_at.is_(None),
                            sa.func.lower(messages.c.body).like(pattern),
                        )
                    ),
                )
            )
    else:
        conditions.append(conversation_participants.c.archived.is_(archived))
    starter = people.alias("starter")
    joined = conversation_participants.join(
        conversations,
        sa.and_(
            conversations.c.id == conversation_participants.c.conversation_id,
            conversations.c.school_id == actor.school_id,
        ),
    ).join(starter, starter.c.id == conversations.c.started_by)
    async with services.engine.connect() as connection:
        total = (
            await connection.execute(
                sa.select(sa.func.count()).select_from(joined).where(*conditions)
            )
        ).scalar_one()
        rows = await connection.execute(
            sa.select(
                conversations.c.id,
                conversations.c.subject,
                conversations.c.message_count,
                conversation_participants.c.last_message_at,
                conversation_participants.c.unread_count,
                conversation_participants.c.archived,
                *_people_columns(starter, "starter_"),
            )
            .select_from(joined)
            .where(*conditions)
            .order_by(conversation_participants.c.last_message_at.desc(), conversations.c.id.desc())
            .limit(page_size)
            .offset((page - 1) * page_size)
        )
        items = [
            ConversationSummary(
                id=int(row.id),
                subject=row.subject,
                started_by=_person_ref(row, "starter_"),
                last_message_at=row.last_message_at,
                message_count=int(row.message_count),
                unread_count=int(row.unread_count),
                archived=bool(row.archived),
            )
            for row in rows
        ]
    return InboxPage(page=page, page_size=page_size, total=total, items=items)


async def inbox_cached(services: Services, actor: Actor) -> tuple[bytes, str]:
    """The first page of the inbox as JSON and its ETag; warm, it costs no I/O."""
    cached = services.live.cache.get(actor.person_id, "inbox")
    if cached is not None:
        return cached
    ticket = services.live.cache.ticket()
    body = _json.encode(await list_inbox(services, actor))
    etag = etag_of(body)
    services.live.cache.put(actor.person_id, "inbox", body, etag, ticket)
    return body, etag


async def list_contacts(services: Services, actor: Actor, *, query: str = "") -> Contacts:
    """Whom the compose form offers: for teachers and staff everyone in the school (and
    classes); for pupils and parents their (children's) teachers and the school staff,
    and a pupil's classmates (whom the rules may still refuse)."""
    words = [w for w in query.lower().split()[:5] if w]
    conditions: list[sa.ColumnElement[bool]] = [
        people.c.school_id == actor.school_id,
        people.c.active.is_(True),
        people.c.id != actor.person_id,
    ]
    for word in words:
        pattern = "%" + word.replace("\\", "").replace("%", "").replace("_", "") + "%"
        conditions.append(
            sa.or_(
                sa.func.lower(people.c.family_name).like(pattern),
                sa.func.lower(people.c.given_name).like(pattern),
            )
        )
    async with services.engine.connect() as connection:
        circle = await sender_circle(connection, actor)
        group_list: list[GroupRef] = []
        classmates: list[PersonRef] = []
        if actor.profile in ADDRESS_GROUPS:
            scope: sa.ColumnElement[bool] = sa.true()
            group_rows = await connection.execute(
                sa.select(groups.c.id, groups.c.name)
                .where(groups.c.school_id == actor.school_id, groups.c.active.is_(True))
                .order_by(groups.c.kind, groups.c.name)
                .limit(CONTACTS_SHOWN)
            )
            group_list = [GroupRef(id=int(row.id), name=row.name) for row in group_rows]
        else:
            scope = sa.or_(
                people.c.profile.in_([profile.value for profile in MODERATORS]),
                people.c.id.in_(sorted(circle.teacher_ids)),
            )
            if circle.classmate_ids:
                classmate_rows = await connection.execute(
                    sa.select(*_people_columns(people, ""))
                    .where(*conditions, people.c.id.in_(sorted(circle.classmate_ids)))
                    .order_by(people.c.family_name, people.c.given_name)
                    .limit(CONTACTS_SHOWN)
                )
                classmates = [_person_ref(row) for row in classmate_rows]
        rows = await connection.execute(
            sa.select(*_people_columns(people, ""))
            .where(*conditions, scope)
            .order_by(people.c.profile.desc(), people.c.family_name, people.c.given_name)
            .limit(CONTACTS_SHOWN)
        )
        return Contacts(
            people=[_person_ref(row) for row in rows], classmates=classmates, groups=group_list
        )


# -- safety: reports and moderation ----------------------------------------------------------


async def report_message(services: Services, actor: Actor, message_id: int, reason: str) -> None:
    reason = check_reason(reason)
    async with services.engine.begin() as connection:
        message = await access_message_by_id(
            connection, actor, message_id, ConversationAction.REPORT
        )
        if message.author_id == actor.person_id:
            raise InvalidInput(OWN_MESSAGE)
        try:
            async with connection.begin_nested():
                await connection.execute(
                    message_reports.insert().values(
                        school_id=actor.school_id,
                        message_id=message_id,
                        reported_by=actor.person_id,
                        reason=reason,
                        created_at=services.now(),
                    )
                )
        except IntegrityError:
            raise Conflict(ALREADY_REPORTED) from None


async def hide_message(services: Services, actor: Actor, message_id: int) -> None:
    """Staff hide a message for everyone; its open reports are resolved."""
    now = services.now()
    async with services.engine.begin() as connection:
        message = await access_message_by_id(
            connection, actor, message_id, ConversationAction.MODERATE
        )
        conversation_id = int(message.conversation_id)
        if message.hidden_at is None:
            await connection.execute(
                messages.update()
                .where(messages.c.school_id == actor.school_id, messages.c.id == message_id)
                .values(hidden_at=now, hidden_by=actor.person_id)
            )
            # Nobody has to "read" a hidden message: take it out of the unread counts.
            await connection.execute(
                conversation_participants.update()
                .where(
                    conversation_participants.c.school_id == actor.school_id,
                    conversation_participants.c.conversation_id == conversation_id,
                    conversation_participants.c.person_id != message.author_id,
                    conversation_participants.c.last_read_message_id < message_id,
                    conversation_participants.c.unread_count > 0,
                )
                .values(unread_count=conversation_participants.c.unread_count - 1)
            )
        await connection.execute(
            message_reports.update()
            .where(
                message_reports.c.school_id == actor.school_id,
                message_reports.c.message_id == message_id,
                message_reports.c.resolved_at.is_(None),
            )
            .values(resolved_at=now, resolved_by=actor.person_id)
        )
        participants = await _participant_ids(connection, actor.school_id, conversation_id)
    await announce_change(services, actor.school_id, participants, "hidden")


async def dismiss_report(services: Services, actor: Actor, report_id: int) -> None:
    """Staff close a report and leave the message as it is."""
    if actor.profile not in MODERATORS:
        raise Forbidden(ONLY_MODERATORS)
    async with services.engine.begin() as connection:
        result = await connection.execute(
            message_reports.update()
            .where(
                message_reports.c.school_id == actor.school_id,
                message_reports.c.id == report_id,
                message_reports.c.resolved_at.is_(None),
            )
            .values(resolved_at=services.now(), resolved_by=actor.person_id)
        )
        if result.rowcount == 0:
            raise NotFound(MESSAGE_NOT_FOUND)


async def list_reports(services: Services, actor: Actor) -> list[ReportView]:
    if actor.profile not in MODERATORS:
        raise Forbidden(ONLY_MODERATORS)
    reporter = people.alias("reporter")
    author = people.alias("author")
    async with services.engine.connect() as connection:
        rows = await connection.execute(
            sa.select(
                message_reports.c.id,
                message_reports.c.message_id,
                message_reports.c.reason,
                message_reports.c.created_at,
                messages.c.conversation_id,
                messages.c.body,
                messages.c.hidden_at,
                *_people_columns(reporter, "reporter_"),
                *_people_columns(author, "author_"),
            )
            .join(messages, messages.c.id == message_reports.c.message_id)
            .join(reporter, reporter.c.id == message_reports.c.reported_by)
            .join(author, author.c.id == messages.c.author_id)
            .where(
                message_reports.c.school_id == actor.school_id,
                messages.c.school_id == actor.school_id,
                message_reports.c.resolved_at.is_(None),
            )
            .order_by(message_reports.c.created_at)
            .limit(200)
        )
        return [
            ReportView(
                id=int(row.id),
                conversation_id=int(row.conversation_id),
                message_id=int(row.message_id),
                reason=row.reason,
                reported_by=_person_ref(row, "reporter_"),
                author=_person_ref(row, "author_"),
                body=row.body,
                hidden=row.hidden_at is not None,
                created_at=row.created_at,
            )
            for row in rows
        ]


# -- announcements ------------------------------------------------------------------------


async def post_announcement(services: Services, actor: Actor, draft: AnnouncementDraft) -> int:
    """Post to the pupils of classes or groups (and their parents); returns its id."""
    title = check_subject(draft.title, "title")
    body = check_body(draft.body)
    group_ids = sorted(set(draft.group_ids))
    if (refusal := announcement_refusal(actor, teaches_every_group=True)) is not None:
        raise Forbidden(refusal)
    if not group_ids:
        raise InvalidInput(NO_GROUP_CHOSEN, field="group_ids")
    if len(group_ids) > MAX_GROUPS:
        raise InvalidInput(TOO_MANY_GROUPS, field="group_ids", limit=MAX_GROUPS)
    now = services.now()
    async with services.engine.begin() as connection:
        await access_groups_for_announcement(connection, actor, group_ids)
        pupils = await _pupils_of(connection, actor.school_id, group_ids)
        parents = (
            await _parents_of(connection, actor.school_id, pupils) if draft.include_parents else []
        )
        recipients = dict.fromkeys(pupils, False)
        recipients.update({person_id: True for person_id in parents if person_id not in recipients})
        recipients.pop(actor.person_id, None)
        if not recipients:
            raise InvalidInput(EMPTY_GROUPS, field="group_ids")
        await services.sending.hit(actor.school_id, actor.person_id)
        result = await connection.execute(
            announcements.insert().values(
                school_id=actor.school_id,
                author_id=actor.person_id,
                title=title,
                body=body,
                include_parents=draft.include_parents,
                created_at=now,
            )
        )
        announcement_id = int(result.inserted_primary_key[0])  # type: ignore[index]
        await connection.execute(
            announcement_groups.insert(),
            [
                {"school_id": actor.school_id, "announcement_id": announcement_id, "group_id": g}
                for g in group_ids
            ],
        )
        await connection.execute(
            announcement_recipients.insert(),
            [
                {
                    "school_id": actor.school_id,
                    "announcement_id": announcement_id,
                    "person_id": person_id,
                    "as_parent": as_parent,
                }
                for person_id, as_parent in recipients.items()
            ],
        )
    await announce_change(
        services, actor.school_id, [actor.person_id, *recipients], "announcement", title=title
    )
    return announcement_id


async def _groups_of(
    connection: AsyncConnection, school_id: int, announcement_ids: Sequence[int]
) -> dict[int, list[GroupRef]]:
    found: dict[int, list[GroupRef]] = {}
    if not announcement_ids:
        return found
    rows = await connection.execute(
        sa.select(announcement_groups.c.announcement_id, groups.c.id, groups.c.name)
        .join(groups, groups.c.id == announcement_groups.c.group_id)
        .where(
            announcement_groups.c.school_id == school_id,
            groups.c.school_id == school_id,
            announcement_groups.c.announcement_id.in_(announcement_ids),
        )
        .order_by(groups.c.name)
    )
    for row in rows:
        found.setdefault(int(row.announcement_id), []).append(
            GroupRef(id=int(row.id), name=row.name)
        )
    return found


async def _receipt_counts(
    connection: AsyncConnection, school_id: int, announcement_ids: Sequence[int]
) -> dict[int, tuple[int, int]]:
    if not announcement_ids:
        return {}
    rows = await connection.execute(
        sa.select(
            announcement_recipients.c.announcement_id,
            sa.func.count().label("total"),
            sa.func.count(announcement_recipients.c.read_at).label("read"),
        )
        .where(
            announcement_recipients.c.school_id == school_id,
            announcement_recipients.c.announcement_id.in_(announcement_ids),
        )
        .group_by(announcement_recipients.c.announcement_id)
    )
    return {int(row.announcement_id): (int(row.total), int(row.read)) for row in rows}


async def list_announcements(
    services: Services, actor: Actor, *, sent: bool = False, page: int = 1, page_size: int = 30
) -> AnnouncementsPage:
    """Announcements the actor received (newest first), or those they sent, with counts."""
    if page < 1:
        raise InvalidInput("The page number starts at 1.", field="page")
    if not 1 <= page_size <= 200:
        raise InvalidInput("A page holds between 1 and 200 items.", field="page_size")
    author = people.alias("author")
    columns = [
        announcements.c.id,
        announcements.c.title,
        announcements.c.body,
        announcements.c.include_parents,
        announcements.c.created_at,
        *_people_columns(author, "author_"),
    ]
    conditions: list[sa.ColumnElement[bool]] = [
        announcements.c.school_id == actor.school_id,
        announcements.c.hidden_at.is_(None),
    ]
    if sent:
        source: sa.FromClause = announcements.join(author, author.c.id == announcements.c.author_id)
        conditions.append(announcements.c.author_id == actor.person_id)
        read_column: sa.ColumnElement[Any] = sa.null().label("read_at")
    else:
        source = announcements.join(
            announcement_recipients,
            sa.and_(
                announcement_recipients.c.announcement_id == announcements.c.id,
                announcement_recipients.c.school_id == actor.school_id,
                announcement_recipients.c.person_id == actor.person_id,
            ),
        ).join(author, author.c.id == announcements.c.author_id)
        read_column = announcement_recipients.c.read_at
    async with services.engine.connect() as connection:
        total = (
            await connection.execute(
                sa.select(sa.func.count()).select_from(source).where(*conditions)
            )
        ).scalar_one()
        rows = (
            await connection.execute(
                sa.select(*columns, read_column)
                .select_from(source)
                .where(*conditions)
                .order_by(announcements.c.created_at.desc(), announcements.c.id.desc())
                .limit(page_size)
                .offset((page - 1) * page_size)
            )
        ).all()
        ids = [int(row.id) for row in rows]
        group_refs = await _groups_of(connection, actor.school_id, ids)
        receipts = await _receipt_counts(connection, actor.school_id, ids) if sent else {}
    items = [
        AnnouncementView(
            id=int(row.id),
            title=row.title,
            body=row.body,
            author=_person_ref(row, "author_"),
            groups=group_refs.get(int(row.id), []),
            include_parents=bool(row.include_parents),
            created_at=row.created_at,
            read_at=row.read_at,
            recipient_count=receipts[int(row.id)][0] if sent and int(row.id) in receipts else None,
            read_count=receipts[int(row.id)][1] if sent and int(row.id) in receipts else None,
        )
        for row in rows
    ]
    return AnnouncementsPage(page=page, page_size=page_size, total=total, items=items)


async def get_announcement(
    services: Services, actor: Actor, announcement_id: int
) -> AnnouncementView:
    async with services.engine.connect() as connection:
        row, recipient = await access_announcement_by_id(
            connection, actor, announcement_id, AnnouncementAction.READ
        )
        author = (
            await connection.execute(
                sa.select(*_people_columns(people, "")).where(
                    people.c.school_id == actor.school_id,
                    people.c.id == row.author_id,
                )
            )
        ).one()
        group_refs = await _groups_of(connection, actor.school_id, [announcement_id])
        overseer = row.author_id == actor.person_id or actor.profile in MODERATORS
        counts = (
            await _receipt_counts(connection, actor.school_id, [announcement_id])
            if overseer
            else {}
        )
    total, read = counts.get(announcement_id, (0, 0))
    return AnnouncementView(
        id=announcement_id,
        title=str(row.title),
        body=str(row.body),
        author=_person_ref(author),
        groups=group_refs.get(announcement_id, []),
        include_parents=bool(row.include_parents),
        created_at=row.created_at,
        read_at=recipient.read_at if recipient is not None else None,
        recipient_count=total if overseer else None,
        read_count=read if overseer else None,
    )


async def mark_announcement_read(services: Services, actor: Actor, announcement_id: int) -> None:
    """Record that a recipient read it (once: the first reading is the receipt)."""
    async with services.engine.begin() as connection:
        _row, recipient = await access_announcement_by_id(
            connection, actor, announcement_id, AnnouncementAction.MARK_READ
        )
        if recipient is None or recipient.read_at is not None:
            return
        await connection.execute(
            announcement_recipients.update()
            .where(
                announcement_recipients.c.school_id == actor.school_id,
                announcement_recipients.c.announcement_id == announcement_id,
                announcement_recipients.c.person_id == actor.person_id,
                announcement_recipients.c.read_at.is_(None),
            )
            .values(read_at=services.now())
        )
    await announce_change(services, actor.school_id, [actor.person_id], "read")


async def open_announcement(
    services: Services, actor: Actor, announcement_id: int
) -> AnnouncementView:
    """What the page shows: the announcement, read by a recipient who opens it."""
    view = await get_announcement(services, actor, announcement_id)
    if view.read_at is None:
        async with services.engine.connect() as connection:
            _row, recipient = await access_announcement_by_id(
                connection, actor, announcement_id, AnnouncementAction.READ
            )
        if recipient is not None:
            await mark_announcement_read(services, actor, announcement_id)
            view = await get_announcement(services, actor, announcement_id)
    return view


async def announcement_receipts(services: Services, actor: Actor, announcement_id: int) -> Receipts:
    async with services.engine.connect() as connection:
        await access_announcement_by_id(
            connection, actor, announcement_id, AnnouncementAction.RECEIPTS
        )
        rows = await connection.execute(
            sa.select(
                announcement_recipients.c.as_parent,
                announcement_recipients.c.read_at,
                *_people_columns(people, ""),
            )
            .join(people, people.c.id == announcement_recipients.c.person_id)
            .where(
                announcement_recipients.c.school_id == actor.school_id,
                people.c.school_id == actor.school_id,
                announcement_recipients.c.announcement_id == announcement_id,
            )
            .order_by(people.c.family_name, people.c.given_name)
        )
        receipts = [
            Receipt(person=_person_ref(row), as_parent=bool(row.as_parent), read_at=row.read_at)
            for row in rows
        ]
    read_by = [receipt for receipt in receipts if receipt.read_at is not None]
    return Receipts(
        announcement_id=announcement_id,
        total=len(receipts),
        read=len(read_by),
        not_read=[receipt for receipt in receipts if receipt.read_at is None],
        read_by=read_by,
    )


# -- preferences ------------------------------------------------------------------------------


async def get_preferences(services: Services, actor: Actor) -> NotificationPreferences:
    async with services.engine.connect() as connection:
        value = (
            await connection.execute(
                sa.select(notification_preferences.c.email_digest).where(
                    notification_preferences.c.school_id == actor.school_id,
                    notification_preferences.c.person_id == actor.person_id,
                )
            )
        ).scalar()
    return NotificationPreferences(email_digest=True if value is None else bool(value))


async def set_preferences(
    services: Services, actor: Actor, preferences: NotificationPreferences
) -> NotificationPreferences:
    values = {"email_digest": preferences.email_digest, "updated_at": services.now()}
    async with services.engine.begin() as connection:
        updated = await connection.execute(
            notification_preferences.update()
            .where(
                notification_preferences.c.school_id == actor.school_id,
                notification_preferences.c.person_id == actor.person_id,
            )
            .values(**values)
        )
        if updated.rowcount == 0:
            await connection.execute(
                notification_preferences.insert().values(
                    school_id=actor.school_id, person_id=actor.person_id, **values
                )
            )
    return preferences


# -- attachments -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentDownload:
    name: str
    content_type: str
    size: int
    chunks: AsyncIterator[bytes]


async def open_attachment(
    services: Services, actor: Actor, attachment_id: int
) -> AttachmentDownload:
    """The bytes of a file attached to a message the actor may read (not once hidden)."""
    async with services.engine.connect() as connection:
        row = await access_attachment_by_id(connection, actor, attachment_id)
    try:
        chunks = await open_existing(services.files, row.file_key)
    except FileNotFoundError:
        raise NotFound(ATTACHMENT_NOT_FOUND) from None
    return AttachmentDownload(
        name=row.name, content_type=row.content_type, size=int(row.size), chunks=chunks
    )
