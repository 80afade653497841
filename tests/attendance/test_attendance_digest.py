"""Parents hear of an absence in the daily email digest too, held back in quiet hours,
against a real SMTP server (aiosmtpd), as tests/messages/test_digests.py does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.messages.digests import send_digests
from preau.adapters.sql.schema import people
from tests.attendance.conftest import MONDAY, add_lesson, bearer, roll_path
from tests.helpers import PASSWORD, build_world, make_settings, running_app
from tests.messages.test_digests import Inbox, body_of, free_port

MONDAY_10PM = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)  # 22:00 in Paris: quiet hours
TUESDAY_5PM = datetime(2026, 11, 24, 16, 0, tzinfo=UTC)


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


async def test_an_absence_reaches_the_parents_digest_after_quiet_hours(
    engine: AsyncEngine, database_url: str, smtp: tuple[Inbox, int]
) -> None:
    del engine  # empties the tables after the test
    inbox, port = smtp
    settings = make_settings(database_url, smtp_host="127.0.0.1", smtp_port=port)
    async with running_app(settings) as app:
        app.services.clock = MONDAY.timestamp
        world = await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        school = world["a"]
        async with app.services.engine.begin() as connection:
            await connection.execute(
                people.update()
                .where(people.c.id == school.people["parent"])
                .values(email="parent.a@example.org")
            )
        lesson = await add_lesson(app, school)
        teacher = await bearer(app, "teacher.a")
        saved = await teacher.put(
            roll_path(lesson),
            json={"entries": [{"pupil_id": school.people["pupil"], "status": "absent"}]},
        )
        assert saved.status_code == 200, saved.text

        held = await send_digests(app.services, now=MONDAY_10PM)
        assert school.id in held.schools_in_quiet_hours
        assert inbox.received == []
        report = await send_digests(app.services, now=TUESDAY_5PM)
        assert (report.sent, report.failed) == (1, 0)
        [message] = inbox.received
        assert message["To"] == "Parent SchoolA <parent.a@example.org>"
        assert "Annonce : Absence : SchoolA Pupil (Teacher SchoolA)" in body_of(message)
