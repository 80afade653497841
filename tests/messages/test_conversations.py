"""Conversations through HTTP on SQLite and PostgreSQL: the writing rules, replies, unread
counts, archive, search, bad input that stores nothing, reports, moderation, sending
limits, and escaped text with safe links."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY

from preau.adapters.sql.schema import messaging_settings, people
from tests.helpers import App, School, csrf_from, enrol_in_class, login, make_settings, running_app
from tests.messages.support import headers_for, table_counts


async def start(app: App, headers: dict[str, str], **draft: object) -> int:
    body = {"subject": "Question", "body": "Bonjour", **draft}
    response = await app.client.post("/api/v1/conversations", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def unread(app: App, headers: dict[str, str]) -> dict[str, int]:
    response = await app.client.get("/api/v1/unread", headers=headers)
    assert response.status_code == 200
    counts: dict[str, int] = response.json()
    return counts


async def test_a_parent_writes_to_the_teacher_and_gets_a_reply(
    app: App, world: dict[str, School]
) -> None:
    parent = await headers_for(app, "parent.a")
    teacher = await headers_for(app, "teacher.a")
    conversation_id = await start(
        app, parent, person_ids=[world["a"].people["teacher"]], body="Léa était malade hier."
    )
    assert await unread(app, teacher) == {"messages": 1, "announcements": 0}
    assert await unread(app, parent) == {"messages": 0, "announcements": 0}
    inbox = (await app.client.get("/api/v1/conversations", headers=teacher)).json()
    assert [item["subject"] for item in inbox["items"]] == ["Question"]
    assert inbox["items"][0]["unread_count"] == 1
    assert inbox["items"][0]["started_by"]["name"] == "Parent SchoolA"

    replied = await app.client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        json={"body": "Merci, bon rétablissement."},
        headers=teacher,
    )
    assert replied.status_code == 201
    assert await unread(app, teacher) == {"messages": 0, "announcements": 0}
    assert await unread(app, parent) == {"messages": 1, "announcements": 0}
    thread = (
        await app.client.get(f"/api/v1/conversations/{conversation_id}", headers=parent)
    ).json()
    assert [m["body"] for m in thread["messages"]] == [
        "Léa était malade hier.",
        "Merci, bon rétablissement.",
    ]
    assert [m["mine"] for m in thread["messages"]] == [True, False]
    read = await app.client.post(f"/api/v1/conversations/{conversation_id}/read", headers=parent)
    assert read.status_code == 204
    assert await unread(app, parent) == {"messages": 0, "announcements": 0}


async def test_a_pupil_cannot_write_to_another_pupil(app: App, world: dict[str, School]) -> None:
    pupil = await headers_for(app, "pupil.a")
    before = await table_counts(app)
    refused = await app.client.post(
        "/api/v1/conversations",
        json={
            "subject": "Salut",
            "body": "Tu viens ?",
            "person_ids": [world["a"].people["other_pupil"]],
        },
        headers={**pupil, "accept-language": "en"},
    )
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["detail"] == (
        "Pupils cannot write to other pupils here. Write to a teacher or to the school staff."
    )
    assert await table_counts(app) == before
    # In French by default.
    french = await app.client.post(
        "/api/v1/conversations",
        json={
            "subject": "Salut",
            "body": "Tu viens ?",
            "person_ids": [world["a"].people["other_pupil"]],
        },
        headers=pupil,
    )
    assert "élèves" in french.json()["detail"]


async def test_a_school_can_let_pupils_write_within_their_class(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    staff = await headers_for(app, "staff.a")
    changed = await app.client.put(
        "/api/v1/messaging-settings",
        json={"pupils_write_to_class": True, "quiet_days": [7]},
        headers=staff,
    )
    assert changed.status_code == 200
    assert changed.json()["pupils_write_to_class"] is True
    pupil = await headers_for(app, "pupil.a")
    outside = await app.client.post(
        "/api/v1/conversations",
        json={"subject": "a", "body": "b", "person_ids": [school.people["other_pupil"]]},
        headers=pupil,
    )
    assert outside.status_code == 403  # other_pupil is in another class
    await enrol_in_class(app.services, school, "other_pupil")
    await start(app, pupil, person_ids=[school.people["other_pupil"]])
    # Only staff change the rules.
    teacher = await headers_for(app, "teacher.a")
    refused = await app.client.put(
        "/api/v1/messaging-settings", json={"pupils_write_to_class": False}, headers=teacher
    )
    assert refused.status_code == 403


async def test_teachers_write_to_a_class_and_to_its_parents(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    teacher = await headers_for(app, "teacher.a")
    await start(
        app,
        teacher,
        group_ids=[school.class_id],
        parents_of_group_ids=[school.class_id],
        subject="Sortie",
    )
    for username in ("pupil.a", "parent.a"):
        assert (await unread(app, await headers_for(app, username)))["messages"] == 1
    assert (await unread(app, await headers_for(app, "other-pupil.a")))["messages"] == 0
    # Pupils and parents cannot pick a whole class.
    pupil = await headers_for(app, "pupil.a")
    refused = await app.client.post(
        "/api/v1/conversations",
        json={"subject": "a", "body": "b", "group_ids": [school.class_id]},
        headers=pupil,
    )
    assert refused.status_code == 403


@pytest.mark.parametrize(
    ("draft", "status", "field"),
    [
        ({"body": ""}, 400, "body"),
        ({"body": "   "}, 400, "body"),
        ({"subject": ""}, 400, "subject"),
        ({"body": "x" * 10_001}, 400, "body"),
        ({"subject": "y" * 201}, 400, "subject"),
        ({"body": "<script>alert(1)</script>"}, 400, "body"),
        ({"body": '<img src=x onerror="alert(1)">'}, 400, "body"),
        ({"subject": "<script>alert(1)</script>"}, 400, "subject"),
        ({"person_ids": [999_999]}, 400, "person_ids"),
        ({"person_ids": []}, 400, "person_ids"),
        ({"person_ids": "not a list"}, 400, None),
        ({"unknown_field": 1}, 400, None),
    ],
)
async def test_bad_input_is_refused_and_stores_nothing(
    app: App, world: dict[str, School], draft: dict[str, object], status: int, field: str | None
) -> None:
    teacher = await headers_for(app, "teacher.a")
    body: dict[str, object] = {
        "subject": "Sujet",
        "body": "Texte",
        "person_ids": [world["a"].people["pupil"]],
    }
    body.update(draft)
    before = await table_counts(app)
    response = await app.client.post("/api/v1/conversations", json=body, headers=teacher)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]
    if field:
        assert response.json()["field"] == field
    assert await table_counts(app) == before


async def test_people_and_classes_of_another_school_are_unknown(
    app: App, world: dict[str, School]
) -> None:
    teacher = await headers_for(app, "teacher.a")
    before = await table_counts(app)
    for draft in (
        {"person_ids": [world["b"].people["pupil"]]},
        {"person_ids": [world["a"].people["pupil"], world["b"].people["teacher"]]},
        {"group_ids": [world["b"].class_id]},
        {"parents_of_group_ids": [world["b"].class_id]},
    ):
        response = await app.client.post(
            "/api/v1/conversations", json={"subject": "a", "body": "b", **draft}, headers=teacher
        )
        assert response.status_code == 400, draft
        assert "pas dans votre établissement" in response.json()["detail"]
    assert await table_counts(app) == before


async def test_a_deactivated_recipient_is_named(app: App, world: dict[str, School]) -> None:
    async with app.services.engine.begin() as connection:
        await connection.execute(
            people.update().where(people.c.id == world["a"].people["pupil"]).values(active=False)
        )
    teacher = await headers_for(app, "teacher.a")
    response = await app.client.post(
        "/api/v1/conversations",
        json={"subject": "a", "body": "b", "person_ids": [world["a"].people["pupil"]]},
        headers={**teacher, "accept-language": "en"},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Pupil SchoolA no longer has an active account")


async def test_contact_search_needs_every_word_and_takes_no_wildcard(
    app: App, world: dict[str, School]
) -> None:
    """The compose form's search shares the inbox's: each word must match a name, and a
    ``_`` or ``%`` typed is dropped rather than matching any character."""
    teacher = await headers_for(app, "teacher.a")

    async def names(query: str) -> list[str]:
        response = await app.client.get("/api/v1/contacts", params={"q": query}, headers=teacher)
        assert response.status_code == 200
        return sorted(person["name"] for person in response.json()["people"])

    assert await names("pupil") == ["Other Pupil SchoolA", "Pupil SchoolA"]
    assert await names("schoola other") == ["Other Pupil SchoolA"]
    assert await names("p_pil") == []
    assert await names("pu%il") == []


async def test_archive_search_and_replies_closed(app: App, world: dict[str, School]) -> None:
    school = world["a"]
    teacher = await headers_for(app, "teacher.a")
    pupil = await headers_for(app, "pupil.a")
    homework = await start(
        app, teacher, person_ids=[school.people["pupil"]], subject="Devoirs", body="Page 42"
    )
    closed = await start(
        app,
        teacher,
        person_ids=[school.people["pupil"]],
        subject="Information",
        body="Pas de réponse",
        replies_allowed=False,
    )
    refused = await app.client.post(
        f"/api/v1/conversations/{closed}/messages", json={"body": "Ok"}, headers=pupil
    )
    assert refused.status_code == 403
    found = (await app.client.get("/api/v1/conversations?q=page", headers=pupil)).json()
    assert [item["id"] for item in found["items"]] == [homework]
    # Search only looks in one's own conversations.
    other = await headers_for(app, "other-pupil.a")
    assert (await app.client.get("/api/v1/conversations?q=page", headers=other)).json()[
        "total"
    ] == 0
    archived = await app.client.put(
        f"/api/v1/conversations/{homework}/archived", json={"archived": True}, headers=pupil
    )
    assert archived.status_code == 204
    inbox = (await app.client.get("/api/v1/conversations", headers=pupil)).json()
    assert [item["id"] for item in inbox["items"]] == [closed]
    kept = (await app.client.get("/api/v1/conversations?archived=true", headers=pupil)).json()
    assert [item["id"] for item in kept["items"]] == [homework]
    # A new message brings it back to the inbox.
    await app.client.post(
        f"/api/v1/conversations/{homework}/messages",
        json={"body": "Et la page 43"},
        headers=teacher,
    )
    inbox = (await app.client.get("/api/v1/conversations", headers=pupil)).json()
    assert [item["id"] for item in inbox["items"]] == [homework, closed]


async def test_report_and_hide(app: App, world: dict[str, School]) -> None:
    school = world["a"]
    parent = await headers_for(app, "parent.a")
    teacher = await headers_for(app, "teacher.a")
    staff = await headers_for(app, "staff.a")
    conversation_id = await start(
        app, parent, person_ids=[school.people["teacher"]], body="Un message déplacé"
    )
    thread = (
        await app.client.get(f"/api/v1/conversations/{conversation_id}", headers=teacher)
    ).json()
    message_id = thread["messages"][0]["id"]
    # Staff cannot read a conversation they are not in until someone reports it.
    assert (
        await app.client.get(f"/api/v1/conversations/{conversation_id}", headers=staff)
    ).status_code == 404
    own = await app.client.post(
        f"/api/v1/messages/{message_id}/reports", json={"reason": "test"}, headers=parent
    )
    assert own.status_code == 400
    reported = await app.client.post(
        f"/api/v1/messages/{message_id}/reports", json={"reason": "Ton agressif"}, headers=teacher
    )
    assert reported.status_code == 204
    again = await app.client.post(
        f"/api/v1/messages/{message_id}/reports", json={"reason": "encore"}, headers=teacher
    )
    assert again.status_code == 409
    reports = (await app.client.get("/api/v1/message-reports", headers=staff)).json()
    assert [(r["message_id"], r["reason"]) for r in reports] == [(message_id, "Ton agressif")]
    assert (await app.client.get("/api/v1/message-reports", headers=teacher)).status_code == 403
    assert (
        await app.client.post(f"/api/v1/messages/{message_id}/hide", headers=teacher)
    ).status_code == 403
    assert await unread(app, teacher) == {"messages": 1, "announcements": 0}
    hidden = await app.client.post(f"/api/v1/messages/{message_id}/hide", headers=staff)
    assert hidden.status_code == 204
    assert await unread(app, teacher) == {"messages": 0, "announcements": 0}
    for headers in (teacher, parent):
        shown = (
            await app.client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)
        ).json()
        assert shown["messages"][0]["hidden"] is True
        assert shown["messages"][0]["body"] is None
    assert (await app.client.get("/api/v1/message-reports", headers=staff)).json() == []
    # Staff of another school see nothing.
    other_staff = await headers_for(app, "staff.b")
    assert (
        await app.client.post(f"/api/v1/messages/{message_id}/hide", headers=other_staff)
    ).status_code == 404


async def test_sending_is_rate_limited(engine: object, database_url: str) -> None:
    async with running_app(make_settings(database_url, messages_per_minute=3)) as app:
        from tests.helpers import PASSWORD, build_world

        world = await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        teacher = await headers_for(app, "teacher.a")
        for _ in range(3):
            await start(app, teacher, person_ids=[world["a"].people["pupil"]])
        before = await table_counts(app)
        limited = await app.client.post(
            "/api/v1/conversations",
            json={"subject": "a", "body": "b", "person_ids": [world["a"].people["pupil"]]},
            headers=teacher,
        )
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "60"
        assert await table_counts(app) == before


async def test_sending_fails_open_when_the_limit_storage_is_down(
    engine: object, database_url: str
) -> None:
    # Nothing listens on port 1: the shared state and its rate-limit storage are down.
    settings = make_settings(database_url, redis_url="redis://127.0.0.1:1/0", messages_per_minute=1)
    async with running_app(settings) as app:
        from tests.helpers import PASSWORD, build_world

        world = await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        teacher = await headers_for(app, "teacher.a")
        before = (
            REGISTRY.get_sample_value("preau_rate_limit_fail_open_total", {"limiter": "sending"})
            or 0.0
        )
        for _ in range(2):  # over the limit of 1 per minute, let through
            await start(app, teacher, person_ids=[world["a"].people["pupil"]])
        after = (
            REGISTRY.get_sample_value("preau_rate_limit_fail_open_total", {"limiter": "sending"})
            or 0.0
        )
        assert after - before == 2
        assert await unread(app, await headers_for(app, "pupil.a")) == {
            "messages": 2,
            "announcements": 0,
        }


async def test_pages_escape_text_and_link_only_web_addresses(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    teacher = await headers_for(app, "teacher.a")
    conversation_id = await start(
        app,
        teacher,
        person_ids=[school.people["pupil"]],
        subject="Liens & <b>balises</b>",
        body="Voir https://example.org/x?a=1&b=2. Et <b>gras</b> 2 < 3 \"quote'",
    )
    pupil = await headers_for(app, "pupil.a")
    assert await login(app.client, "pupil.a")
    page = await app.client.get(f"/messages/{conversation_id}")
    assert page.status_code == 200
    html = page.text
    assert "<b>gras</b>" not in html
    assert "&lt;b&gt;gras&lt;/b&gt;" in html
    assert "Liens &amp; &lt;b&gt;balises&lt;/b&gt;" in html
    assert (
        '<a href="https://example.org/x?a=1&amp;b=2" rel="noopener noreferrer nofollow ugc">'
        in html
    )
    assert "2 &lt; 3 &#34;quote&#39;" in html
    # Opening the page read it.
    assert await unread(app, pupil) == {
        "messages": 0,
        "announcements": 0,
    }


async def test_the_compose_form_sends_and_refuses_with_a_sentence(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    await login(app.client, "pupil.a")
    form = await app.client.get("/messages/new")
    assert form.status_code == 200
    assert "Teacher SchoolA" in form.text
    assert "Staff SchoolA" in form.text
    token = csrf_from(form.text)
    refused = await app.client.post(
        "/messages/new",
        data={
            "csrf_token": token,
            "subject": "Salut",
            "body": "Coucou",
            "person_ids": str(school.people["other_pupil"]),
        },
    )
    assert refused.status_code == 403
    assert "Les élèves ne peuvent pas écrire à d’autres élèves" in refused.text
    assert 'value="Coucou"' not in refused.text
    assert ">Coucou</textarea>" in refused.text
    sent = await app.client.post(
        "/messages/new",
        data={
            "csrf_token": token,
            "subject": "Question",
            "body": "Pour demain ?",
            "person_ids": str(school.people["teacher"]),
        },
    )
    assert sent.status_code == 302
    assert sent.headers["location"].endswith("?done=sent")
    missing_token = await app.client.post(
        "/messages/new",
        data={"subject": "Question", "body": "x", "person_ids": str(school.people["teacher"])},
    )
    assert missing_token.status_code == 403
    async with app.services.engine.connect() as connection:
        settings_rows = (
            await connection.execute(sa.select(sa.func.count()).select_from(messaging_settings))
        ).scalar_one()
    assert settings_rows == 0  # defaults apply without a row


async def test_everything_is_in_the_openapi_document(app: App) -> None:
    document = (await app.client.get("/api/v1/schema/openapi.json")).json()
    paths = document["paths"]
    for path, method in [
        ("/api/v1/conversations", "get"),
        ("/api/v1/conversations", "post"),
        ("/api/v1/conversations/{conversation_id}", "get"),
        ("/api/v1/conversations/{conversation_id}/messages", "post"),
        ("/api/v1/conversations/{conversation_id}/read", "post"),
        ("/api/v1/conversations/{conversation_id}/archived", "put"),
        ("/api/v1/message-attachments/{attachment_id}", "get"),
        ("/api/v1/messages/{message_id}/reports", "post"),
        ("/api/v1/messages/{message_id}/hide", "post"),
        ("/api/v1/message-reports", "get"),
        ("/api/v1/announcements", "post"),
        ("/api/v1/announcements/{announcement_id}/receipts", "get"),
        ("/api/v1/unread", "get"),
        ("/api/v1/contacts", "get"),
        ("/api/v1/messaging-settings", "put"),
        ("/api/v1/notification-preferences", "put"),
    ]:
        assert method in paths.get(path, {}), (method, path)
    schemas = document["components"]["schemas"]
    assert {"ConversationDraft", "InboxPage", "UnreadCounts", "Receipts"} <= set(schemas)
    assert "/live" in paths["/api/v1/unread"]["get"]["description"]
