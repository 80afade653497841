"""The email digest: once a day, each person with an email address and unread items
gets one email listing what arrived since their last digest. Quiet hours hold it back
(the next run outside them sends it); anyone can opt out in their message settings.

Run it with ``preau send-digests`` (an operator schedules it, hourly is fine: a person
gets at most one digest per ``DIGEST_EVERY``), or call :func:`send_digests`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

import sqlalchemy as sa
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncConnection

from preau import i18n
from preau.actions.context import Services
from preau.actions.messages.rules import load_rules
from preau.adapters.mail import MailUnavailable, SmtpServer, send_batch
from preau.adapters.sql.schema import (
    announcement_recipients,
    announcements,
    conversation_participants,
    conversations,
    digest_log,
    messages,
    notification_preferences,
    people,
    schools,
)
from preau.domain.messages import DigestItem, display_name, is_quiet

log = logging.getLogger("preau.digests")

DIGEST_EVERY = timedelta(hours=20)  # "daily", with slack for a job run at slightly varying times
LOOK_BACK = timedelta(days=7)  # a first digest tells at most a week of unread items
ITEMS_LISTED = 20

digests_sent = Counter("preau_digests_sent_total", "Digest emails accepted by the SMTP server.")
digests_failed = Counter("preau_digests_failed_total", "Digest emails that could not be sent.")


@dataclass
class DigestReport:
    sent: int = 0
    failed: int = 0
    schools_in_quiet_hours: list[int] = field(default_factory=list)
    smtp_configured: bool = True


async def send_digests(services: Services, *, now: datetime | None = None) -> DigestReport:
    """Send every digest that is due now; returns what happened."""
    settings = services.settings
    now = now or services.now()
    report = DigestReport(smtp_configured=bool(settings.smtp_host))
    if not settings.smtp_host:
        log.warning("PREAU_SMTP_HOST is not set: no digest is sent")
        return report
    server = SmtpServer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        username=settings.smtp_username,
        password=settings.smtp_password,
    )
    async with services.engine.connect() as connection:
        school_ids = [
            int(row.id)
            for row in await connection.execute(
                sa.select(schools.c.id).where(schools.c.active.is_(True)).order_by(schools.c.id)
            )
        ]
    for school_id in school_ids:
        await _school_digests(services, server, school_id, now, report)
    return report


async def _school_digests(
    services: Services, server: SmtpServer, school_id: int, now: datetime, report: DigestReport
) -> None:
    async with services.engine.connect() as connection:
        rules, zone = await load_rules(connection, school_id)
        if is_quiet(rules, now.astimezone(zone)):
            report.schools_in_quiet_hours.append(school_id)
            return
        opted_out = sa.select(notification_preferences.c.person_id).where(
            notification_preferences.c.school_id == school_id,
            notification_preferences.c.email_digest.is_(False),
        )
        readers = {
            int(row.id): row
            for row in await connection.execute(
                sa.select(
                    people.c.id, people.c.email, people.c.given_name, people.c.family_name
                ).where(
                    people.c.school_id == school_id,
                    people.c.active.is_(True),
                    people.c.email.is_not(None),
                    people.c.id.not_in(opted_out),
                )
            )
        }
        if not readers:
            return
        last_sent = {
            int(row.person_id): row.last
            for row in await connection.execute(
                sa.select(digest_log.c.person_id, sa.func.max(digest_log.c.sent_at).label("last"))
                .where(digest_log.c.school_id == school_id)
                .group_by(digest_log.c.person_id)
            )
        }
        items = await _unread_items(connection, school_id, now - LOOK_BACK)
    outgoing: list[tuple[int, int, EmailMessage]] = []
    token = i18n.current_locale.set(services.settings.default_locale)
    try:
        for person_id, reader in readers.items():
            last = last_sent.get(person_id)
            if last is not None and now - last < DIGEST_EVERY:
                continue
            since = last or now - LOOK_BACK
            fresh = [item for item in items.get(person_id, []) if item.at > since]
            if fresh:
                outgoing.append((person_id, len(fresh), _email(services, reader, fresh)))
    finally:
        i18n.current_locale.reset(token)
    if not outgoing:
        return
    try:
        accepted = await send_batch(server, [email for _person, _count, email in outgoing])
    except MailUnavailable:
        log.exception("digests of school %s not sent", school_id)
        digests_failed.inc(len(outgoing))
        report.failed += len(outgoing)
        return
    sent = [
        (person, count)
        for (person, count, _email), ok in zip(outgoing, accepted, strict=True)
        if ok
    ]
    report.sent += len(sent)
    report.failed += len(outgoing) - len(sent)
    digests_sent.inc(len(sent))
    digests_failed.inc(len(outgoing) - len(sent))
    if sent:
        async with services.engine.begin() as connection:
            await connection.execute(
                digest_log.insert(),
                [
                    {
                        "school_id": school_id,
                        "person_id": person,
                        "sent_at": now,
                        "item_count": count,
                    }
                    for person, count in sent
                ],
            )


async def _unread_items(
    connection: AsyncConnection, school_id: int, since: datetime
) -> dict[int, list[DigestItem]]:
    """Unread messages and announcements of everyone in the school, newer than ``since``."""
    found: dict[int, list[DigestItem]] = {}
    author = people.alias("author")
    message_rows = await connection.execute(
        sa.select(
            conversation_participants.c.person_id,
            conversations.c.subject.label("title"),
            messages.c.created_at,
            author.c.given_name,
            author.c.family_name,
        )
        .join(
            conversations,
            conversations.c.id == conversation_participants.c.conversation_id,
        )
        .join(
            messages,
            sa.and_(
                messages.c.conversation_id == conversation_participants.c.conversation_id,
                messages.c.id > conversation_participants.c.last_read_message_id,
                messages.c.author_id != conversation_participants.c.person_id,
            ),
        )
        .join(author, author.c.id == messages.c.author_id)
        .where(
            conversation_participants.c.school_id == school_id,
            conversations.c.school_id == school_id,
            messages.c.school_id == school_id,
            conversation_participants.c.unread_count > 0,
            messages.c.hidden_at.is_(None),
            messages.c.created_at > since,
        )
        .order_by(messages.c.created_at.desc())
    )
    announcement_rows = await connection.execute(
        sa.select(
            announcement_recipients.c.person_id,
            announcements.c.title,
            announcements.c.created_at,
            author.c.given_name,
            author.c.family_name,
        )
        .join(announcements, announcements.c.id == announcement_recipients.c.announcement_id)
        .join(author, author.c.id == announcements.c.author_id)
        .where(
            announcement_recipients.c.school_id == school_id,
            announcements.c.school_id == school_id,
            announcement_recipients.c.read_at.is_(None),
            announcements.c.hidden_at.is_(None),
            announcements.c.created_at > since,
        )
        .order_by(announcements.c.created_at.desc())
    )
    for kind, rows in (("message", message_rows), ("announcement", announcement_rows)):
        for row in rows:
            found.setdefault(int(row.person_id), []).append(
                DigestItem(
                    kind=kind,
                    title=row.title,
                    author=display_name(row.given_name, row.family_name),
                    at=row.created_at,
                )
            )
    return found


def _email(services: Services, reader: Any, items: list[DigestItem]) -> EmailMessage:
    settings = services.settings
    count = len(items)
    email = EmailMessage()
    email["From"] = settings.smtp_from
    email["To"] = formataddr(
        (display_name(reader.given_name, reader.family_name), str(reader.email))
    )
    email["Subject"] = i18n.ngettext(
        "Préau: %(num)d unread item", "Préau: %(num)d unread items", count
    ) % {"num": count}
    email["Message-ID"] = make_msgid(domain="preau")
    lines = [i18n.gettext("Hello {name},").format(name=reader.given_name), ""]
    lines.append(i18n.gettext("Here is what you have not read yet in Préau:"))
    lines.append("")
    for item in items[:ITEMS_LISTED]:
        label = (
            i18n.gettext("Announcement") if item.kind == "announcement" else i18n.gettext("Message")
        )
        lines.append(
            i18n.gettext("- {kind}: {title} ({author})").format(
                kind=label, title=item.title, author=item.author
            )
        )
    if count > ITEMS_LISTED:
        lines.append(i18n.gettext("… and {more} more.").format(more=count - ITEMS_LISTED))
    base = settings.base_url.rstrip("/")
    lines += [
        "",
        i18n.gettext("Read them at {url}").format(url=f"{base}/messages"),
        "",
        i18n.gettext(
            "You receive this email once a day at most. To stop it, untick the daily email in "
            "your message settings: {url}"
        ).format(url=f"{base}/messages/settings"),
    ]
    email.set_content("\n".join(lines))
    return email
