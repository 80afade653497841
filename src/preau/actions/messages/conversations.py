"""Conversations: starting one, replying, reading one (marked read when its page opens) and
archiving it. A conversation is reached only through ``access_conversation_by_id``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import ConversationAccess, access_conversation_by_id
from preau.actions.classwork.files import StoredFile
from preau.actions.context import Services
from preau.actions.messages.attachments import record_attachments, stored_attachments
from preau.actions.messages.queries import people_columns, person_ref
from preau.actions.messages.recipients import resolve_recipients
from preau.actions.messages.unread import announce_change
from preau.adapters.sql.schema import (
    conversation_participants,
    conversations,
    message_attachments,
    messages,
    people,
)
from preau.domain.messages import (
    AttachmentUpload,
    AttachmentView,
    ConversationAction,
    ConversationDraft,
    ConversationView,
    MessageView,
    PersonRef,
    check_body,
    check_subject,
)
from preau.domain.people import Actor, Profile

MESSAGES_SHOWN = 500


_NEW_MESSAGE = messages.insert().returning(messages.c.id)

# A reply: the others' unread counts go up (their archived copy comes back), the
# author's own row is read up to it; every participant's id comes back for the live event.
_ME = conversation_participants.c.person_id == sa.bindparam("actor_id", type_=sa.Integer)
_REPLIED = (
    conversation_participants.update()
    .where(
        conversation_participants.c.school_id == sa.bindparam("b_school_id", type_=sa.Integer),
        conversation_participants.c.conversation_id
        == sa.bindparam("b_conversation_id", type_=sa.Integer),
    )
    .values(
        unread_count=sa.case((_ME, 0), else_=conversation_participants.c.unread_count + 1),
        archived=sa.case((_ME, conversation_participants.c.archived), else_=sa.false()),
        last_read_message_id=sa.case(
            (_ME, sa.bindparam("message_id", type_=sa.Integer)),
            else_=conversation_participants.c.last_read_message_id,
        ),
        last_message_at=sa.bindparam("now", type_=conversations.c.last_message_at.type),
    )
    .returning(conversation_participants.c.person_id)
)
_ONE_MORE_MESSAGE = (
    conversations.update()
    .where(
        conversations.c.school_id == sa.bindparam("b_school_id", type_=sa.Integer),
        conversations.c.id == sa.bindparam("b_conversation_id", type_=sa.Integer),
    )
    .values(
        last_message_at=sa.bindparam("now", type_=conversations.c.last_message_at.type),
        message_count=conversations.c.message_count + 1,
    )
)


async def _add_message(
    connection: AsyncConnection,
    actor: Actor,
    conversation_id: int,
    *,
    body: str,
    now: datetime,
    stored: list[StoredFile],
) -> int:
    """Write the actor's message and its stored files into the conversation; returns its id."""
    message_id = (
        await connection.execute(
            _NEW_MESSAGE,
            {
                "school_id": actor.school_id,
                "conversation_id": conversation_id,
                "author_id": actor.person_id,
                "body": body,
                "created_at": now,
            },
        )
    ).scalar_one()
    await record_attachments(connection, actor.school_id, int(message_id), stored)
    return int(message_id)


async def start_conversation(services: Services, actor: Actor, draft: ConversationDraft) -> int:
    """Start a conversation; returns its id. Nothing is stored if any check fails."""
    subject = check_subject(draft.subject)
    body = check_body(draft.body)
    now = services.now()
    async with (
        stored_attachments(services, draft.attachments) as stored,
        services.engine.begin() as connection,
    ):
        recipients = await resolve_recipients(connection, actor, draft)
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
        conversation_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # SQLAlchemy types inserted_primary_key's row as possibly empty
        message_id = await _add_message(
            connection, actor, conversation_id, body=body, now=now, stored=stored
        )
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
        stored_attachments(services, attachments) as stored,
        services.engine.begin() as connection,
    ):
        await access_conversation_by_id(
            connection, actor, conversation_id, ConversationAction.REPLY
        )
        await services.sending.hit(actor.school_id, actor.person_id)
        message_id = await _add_message(
            connection, actor, conversation_id, body=body, now=now, stored=stored
        )
        at = {"b_school_id": actor.school_id, "b_conversation_id": conversation_id, "now": now}
        participants = [
            int(person_id)
            for person_id in (
                await connection.execute(
                    _REPLIED, {**at, "actor_id": actor.person_id, "message_id": message_id}
                )
            ).scalars()
        ]
        await connection.execute(_ONE_MORE_MESSAGE, at)
    await announce_change(services, actor.school_id, participants, "message")
    return message_id


async def participant_ids(
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
            sa.select(*people_columns(people, ""))
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
    participants = [person_ref(participant) for participant in participant_rows]
    by_id = {person.id: person for person in participants}
    message_rows = (
        await connection.execute(
            sa.select(messages, *people_columns(people, "writer_"))
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
            (person_ref(m, "writer_") for m in message_rows if m.author_id == row.started_by),
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
                author=person_ref(m, "writer_"),
                body=None if m.hidden_at is not None else str(m.body),
                hidden=m.hidden_at is not None,
                created_at=m.created_at,
                mine=m.author_id == actor.person_id,
                attachments=attachments.get(int(m.id), []),
            )
            for m in message_rows
        ],
    )


def _own_row(actor: Actor, conversation_id: int) -> sa.Update:
    """An update of the actor's own participant row in the conversation."""
    return conversation_participants.update().where(
        conversation_participants.c.school_id == actor.school_id,
        conversation_participants.c.conversation_id == conversation_id,
        conversation_participants.c.person_id == actor.person_id,
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
            _own_row(actor, conversation_id).values(unread_count=0, last_read_message_id=last or 0)
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
        await connection.execute(_own_row(actor, conversation_id).values(archived=archived))
    await announce_change(services, actor.school_id, [actor.person_id], "archive")
