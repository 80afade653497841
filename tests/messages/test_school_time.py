"""Message, announcement, receipt and report times in the school's own zone (a school in
Réunion, UTC+4, not Paris), and in the API as instants that carry their zone."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from preau.adapters.sql.schema import schools
from tests.helpers import App, School, login
from tests.messages.support import headers_for

REUNION = ZoneInfo("Indian/Reunion")
PARIS = ZoneInfo("Europe/Paris")
WITH_ZONE = re.compile(r"(Z|[+-]\d\d:\d\d)$")


@pytest.fixture
async def reunion(app: App, world: dict[str, School]) -> School:
    """School A, in Réunion (as ``preau create-school --timezone Indian/Reunion`` makes it)."""
    async with app.services.engine.begin() as connection:
        await connection.execute(
            schools.update().where(schools.c.id == world["a"].id).values(timezone="Indian/Reunion")
        )
    return world["a"]


async def exchange(app: App, school: School) -> dict[str, str]:
    """An announcement read by a pupil, a conversation and a report; their times as the
    JSON API sends them."""
    teacher = await headers_for(app, "teacher.a")
    pupil = await headers_for(app, "pupil.a")
    parent = await headers_for(app, "parent.a")
    staff = await headers_for(app, "staff.a")
    posted = await app.client.post(
        "/api/v1/announcements",
        json={"title": "Sortie", "body": "Rendez-vous à 8 h.", "group_ids": [school.class_id]},
        headers=teacher,
    )
    announcement_id = posted.json()["id"]
    await app.client.post(f"/api/v1/announcements/{announcement_id}/read", headers=pupil)
    started = await app.client.post(
        "/api/v1/conversations",
        json={
            "subject": "Absence",
            "body": "Léa est malade.",
            "person_ids": [school.people["teacher"]],
        },
        headers=parent,
    )
    conversation_id = started.json()["id"]
    thread = (
        await app.client.get(f"/api/v1/conversations/{conversation_id}", headers=teacher)
    ).json()
    message = thread["messages"][0]
    await app.client.post(
        f"/api/v1/messages/{message['id']}/reports", json={"reason": "Ton"}, headers=teacher
    )
    announcement = (
        await app.client.get(f"/api/v1/announcements/{announcement_id}", headers=pupil)
    ).json()
    receipts = (
        await app.client.get(f"/api/v1/announcements/{announcement_id}/receipts", headers=teacher)
    ).json()
    inbox = (await app.client.get("/api/v1/conversations", headers=teacher)).json()
    reports = (await app.client.get("/api/v1/message-reports", headers=staff)).json()
    return {
        "announcement_id": str(announcement_id),
        "conversation_id": str(conversation_id),
        "announcement": announcement["created_at"],
        "announcement_read": announcement["read_at"],
        "receipt": receipts["read_by"][0]["read_at"],
        "message": message["created_at"],
        "inbox": inbox["items"][0]["last_message_at"],
        "report": reports[0]["created_at"],
    }


def shown(stamp: str, zone: ZoneInfo) -> str:
    return datetime.fromisoformat(stamp).astimezone(zone).strftime("%d/%m/%Y %H:%M")


async def test_api_times_carry_their_zone(app: App, reunion: School) -> None:
    times = await exchange(app, reunion)
    for name in ("announcement", "announcement_read", "receipt", "message", "inbox", "report"):
        assert WITH_ZONE.search(times[name]), (name, times[name])


async def test_pages_show_times_in_the_schools_zone(app: App, reunion: School) -> None:
    times = await exchange(app, reunion)
    # (reader, page, the times it shows)
    pages = [
        ("teacher.a", f"/announcements/{times['announcement_id']}", ["announcement", "receipt"]),
        ("teacher.a", "/messages", ["inbox"]),
        ("teacher.a", f"/messages/{times['conversation_id']}", ["message"]),
        ("pupil.a", "/announcements", ["announcement"]),
        ("staff.a", "/messages/reports", ["report"]),
    ]
    for username, path, names in pages:
        browser = app.client_for()
        assert (await login(browser, username)).status_code == 302
        page = await browser.get(path)
        assert page.status_code == 200, path
        for name in names:
            assert shown(times[name], REUNION) in page.text, (path, name)
            assert shown(times[name], PARIS) not in page.text, (path, name)
        await browser.aclose()
