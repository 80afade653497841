"""Safety: reporting a message, and staff hiding it or dismissing the report."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from preau.actions.access import MESSAGE_NOT_FOUND, ONLY_MODERATORS, access_message_by_id
from preau.actions.context import Services
from preau.actions.messages.conversations import participant_ids
from preau.actions.messages.queries import people_columns, person_ref
from preau.actions.messages.unread import announce_change
from preau.adapters.sql.schema import conversation_participants, message_reports, messages, people
from preau.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from preau.domain.messages import MODERATORS, ConversationAction, ReportView, check_reason
from preau.domain.people import Actor
from preau.i18n import lazy

OWN_MESSAGE = lazy("You cannot report your own message.")
ALREADY_REPORTED = lazy("You have already reported this message. The school staff will look at it.")


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
        participants = await participant_ids(connection, actor.school_id, conversation_id)
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
                *people_columns(reporter, "reporter_"),
                *people_columns(author, "author_"),
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
                reported_by=person_ref(row, "reporter_"),
                author=person_ref(row, "author_"),
                body=row.body,
                hidden=row.hidden_at is not None,
                created_at=row.created_at,
            )
            for row in rows
        ]
