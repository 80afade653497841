"""Messages: conversations, their messages and attachments, announcements."""

from __future__ import annotations

from dataclasses import dataclass

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
