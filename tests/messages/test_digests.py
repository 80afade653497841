"""The email digest against a real SMTP server (aiosmtpd on a free port): who gets one,
what it lists, once a day, held in quiet hours, opt-out, and the command line."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.messages.digests import send_digests
from preau.adapters.sql.schema import people
from tests.helpers import PASSWORD, App, build_world, make_settings, running_app
from tests.messages.support import headers_for

TUESDAY_5PM = datetime(2021, 4, 6, 15, 0, tzinfo=UTC)  # 17:00 in Paris
TUESDAY_10PM = datetime(2021, 4, 6, 20, 0, tzinfo=UTC)  # 22:00 in Paris: quiet
WEDNESDAY_5PM = datetime(2021, 4, 7, 15, 0, tzinfo=UTC)


class Inbox:
    """Collects what the SMTP server accepts."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 — aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(parsed)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


async def set_emails(app: App, world: dict[str, Any]) -> None:
    async with app.services.engine.begin() as connection:
        for letter in "ab":
            for role, person_id in world[letter].people.items():
                await connection.execute(
                    people.update()
                    .where(people.c.id == person_id)
                    .values(email=f"{role}.{letter}@example.org")
                )


def body_of(message: EmailMessage) -> str:
    return str(message.get_content())


async def test_digests(engine: AsyncEngine, database_url: str, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = make_settings(database_url, smtp_host="127.0.0.1", smtp_port=port)
    async with running_app(settings) as app:
        world = await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        await set_emails(app, world)
        school = world["a"]
        teacher = await headers_for(app, "teacher.a")
        pupil = await headers_for(app, "pupil.a")
        parent = await headers_for(app, "parent.a")
        app.services.clock = lambda: TUESDAY_5PM.timestamp() - 3600
        await app.client.post(
            "/api/v1/announcements",
            json={
                "title": "Conseil de classe",
                "body": "Mardi",
                "group_ids": [school.class_id],
                "include_parents": True,
            },
            headers=teacher,
        )
        await app.client.post(
            "/api/v1/conversations",
            json={"subject": "Devoirs", "body": "Page 3", "person_ids": [school.people["pupil"]]},
            headers=teacher,
        )
        # The parent opts out; the pupil has read nothing.
        opted = await app.client.put(
            "/api/v1/notification-preferences", json={"email_digest": False}, headers=parent
        )
        assert opted.json() == {"email_digest": False}

        held = await send_digests(app.services, now=TUESDAY_10PM)
        assert (held.sent, held.schools_in_quiet_hours) == (0, [world["a"].id, world["b"].id])
        assert inbox.received == []

        report = await send_digests(app.services, now=TUESDAY_5PM)
        assert (report.sent, report.failed) == (1, 0)
        [message] = inbox.received
        assert message["To"] == "Pupil SchoolA <pupil.a@example.org>"
        assert message["Subject"] == "Préau : 2 éléments non lus"
        text = body_of(message)
        assert "Annonce : Conseil de classe (Teacher SchoolA)" in text
        assert "Message : Devoirs (Teacher SchoolA)" in text
        assert "http://127.0.0.1:8000/messages/settings" in text

        # At most one a day, and only what is new since the last one.
        assert (await send_digests(app.services, now=TUESDAY_5PM)).sent == 0
        assert (await send_digests(app.services, now=WEDNESDAY_5PM)).sent == 0
        app.services.clock = lambda: WEDNESDAY_5PM.timestamp() - 60
        assert pupil  # obtained before the clock moved
        await app.client.post(
            "/api/v1/conversations",
            json={"subject": "Rappel", "body": "Demain", "person_ids": [school.people["pupil"]]},
            headers=teacher,
        )
        assert (await send_digests(app.services, now=WEDNESDAY_5PM)).sent == 1
        assert "Rappel" in body_of(inbox.received[-1])
        assert "Conseil" not in body_of(inbox.received[-1])
        # What the pupil has read is not told again.
        app.services.clock = lambda: datetime(2021, 4, 9, 14, 0, tzinfo=UTC).timestamp()
        listed = (await app.client.get("/api/v1/conversations", headers=pupil)).json()
        for item in listed["items"]:
            await app.client.post(f"/api/v1/conversations/{item['id']}/read", headers=pupil)
        await app.client.post(
            "/api/v1/conversations",
            json={"subject": "Vendredi", "body": "x", "person_ids": [school.people["pupil"]]},
            headers=teacher,
        )
        assert (
            await send_digests(app.services, now=datetime(2021, 4, 9, 15, 0, tzinfo=UTC))
        ).sent == 1
        last = body_of(inbox.received[-1])
        assert "Vendredi" in last
        assert "Rappel" not in last


async def test_an_unreachable_server_is_reported(engine: AsyncEngine, database_url: str) -> None:
    settings = make_settings(database_url, smtp_host="127.0.0.1", smtp_port=free_port())
    async with running_app(settings) as app:
        world = await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        await set_emails(app, world)
        teacher = await headers_for(app, "teacher.a")  # before the clock moves: tokens expire
        app.services.clock = lambda: TUESDAY_5PM.timestamp() - 60
        sent = await app.client.post(
            "/api/v1/conversations",
            json={"subject": "s", "body": "b", "person_ids": [world["a"].people["pupil"]]},
            headers=teacher,
        )
        assert sent.status_code == 201
        report = await send_digests(app.services, now=TUESDAY_5PM)
        assert (report.sent, report.failed) == (0, 1)


def test_the_command_says_when_smtp_is_not_configured(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "PREAU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'digest.sqlite3'}",
        "PREAU_SMTP_HOST": "",
    }
    preau = str(Path(sys.executable).parent / "preau")
    subprocess.run([preau, "migrate"], env=environment, check=True, capture_output=True)
    result = subprocess.run(
        [preau, "send-digests"], env=environment, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "PREAU_SMTP_HOST is not set" in result.stdout
