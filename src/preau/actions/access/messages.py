"""Messages: conversations, their messages and attachments, announcements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access.core import (
    ANNOUNCEMENT_NOT_FOUND,
    ATTACHMENT_NOT_FOUND,
    CONVERSATION_NOT_FOUND,
    MESSAGE_NOT_FOUND,
    NOT_A_PARTICIPANT,
    ONLY_MODERATORS,
    ONLY_OVERSEERS,
    ONLY_RECIPIENTS,
    REPLIES_CLOSED,
    Row,
    enforce,
)
from preau.adapters.sql.schema import (
    announcement_recipients,
    announcements,
    conversation_participants,
    conversations,
    message_attachments,
    message_reports,
    messages,
)
from preau.domain.access import (
    announcement_decision,
    conversation_decision,
)
from preau.domain.errors import NotFound
from preau.domain.messages import (
    MODERATORS,
    AnnouncementAction,
    ConversationAction,
)
from preau.domain.people import Actor

# -- messages: conversations and announcements ----------------------------------------------


@dataclass(frozen=True)
class Participant:
    """The actor's own place in a conversation."""

    unread_count: int
    archived: bool


@dataclass(frozen=True)
class ConversationAccess:
    row: Row
    participant: Participant | None
    moderator: bool


def _conversation_statement(*, moderator: bool) -> sa.Select[Any]:
    """Built once: the conversation, the actor's participant row (outer-joined) and, for
    the school's moderators, whether one of its messages has an open report."""
    own = conversation_participants
    columns: list[sa.ColumnElement[Any]] = [
        own.c.person_id.label("own_person_id"),
        own.c.unread_count.label("own_unread_count"),
        own.c.archived.label("own_archived"),
    ]
    if moderator:
        columns.append(
            sa.select(message_reports.c.id)
            .join(messages, messages.c.id == message_reports.c.message_id)
            .where(
                message_reports.c.school_id == conversations.c.school_id,
                messages.c.school_id == conversations.c.school_id,
                messages.c.conversation_id == conversations.c.id,
                message_reports.c.resolved_at.is_(None),
            )
            .exists()
            .label("own_open_report")
        )
    return (
        sa.select(conversations, *columns)
        .select_from(
            conversations.outerjoin(
                own,
                sa.and_(
                    own.c.school_id == conversations.c.school_id,
                    own.c.conversation_id == conversations.c.id,
                    own.c.person_id == sa.bindparam("actor_id", type_=sa.Integer),
                ),
            )
        )
        .where(
            conversations.c.school_id == sa.bindparam("school_id", type_=sa.Integer),
            conversations.c.id == sa.bindparam("conversation_id", type_=sa.Integer),
        )
    )


_CONVERSATION = {flag: _conversation_statement(moderator=flag) for flag in (False, True)}


async def access_conversation_by_id(
    connection: AsyncConnection, actor: Actor, conversation_id: int, action: ConversationAction
) -> ConversationAccess:
    """The conversation and the actor's place in it, decided, from one statement."""
    moderator = actor.profile in MODERATORS
    row = (
        await connection.execute(
            _CONVERSATION[moderator],
            {
                "school_id": actor.school_id,
                "conversation_id": conversation_id,
                "actor_id": actor.person_id,
            },
        )
    ).first()
    if row is None:
        raise NotFound(CONVERSATION_NOT_FOUND)
    participant = None
    if row.own_person_id is not None:
        participant = Participant(
            unread_count=int(row.own_unread_count), archived=bool(row.own_archived)
        )
    open_report = participant is None and moderator and bool(row.own_open_report)
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
    return ConversationAccess(row=row, participant=participant, moderator=moderator)


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
