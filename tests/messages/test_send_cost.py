"""Sending a message is a write many people make at once: a handful of statements, through
the API and the form, and what it answers is what a read shows afterwards."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from preau.adapters.sql.schema import enrolments, people
from tests.helpers import App, QueryCounter, School, csrf_from, login
from tests.messages.support import headers_for

CLASS_SIZE = 25

# Statements per send, pinned (the request's whole cost), with an Idempotency-Key as the
# outbox sends it. A new conversation: the key's look-up; one read of whom the draft
# names with the school's rules (or of the classes with their pupils); the conversation,
# its message and every participant (one statement for all); the key's record at the
# commit; after it, the live event's counts with the quiet hours; the answer kept.
# Before this work: 11, 12 (a class), 13 (a reply, a parent's draft).
# A reply: the conversation and the writer's place in it in one read, the message, every
# participant's row in one update (their ids returned), the conversation's count.
# A parent's draft also reads whom their children's teachers are.
API_START_TO_ONE = 8
API_START_TO_A_CLASS = 8
API_REPLY = 8
API_PARENT_TO_TEACHER = 9
FORM_START_TO_ONE = 8
FORM_START_TO_A_CLASS = 8
FORM_REPLY = 8


@pytest.fixture
def queries(app: App) -> QueryCounter:
    return QueryCounter(app.services.engine)


def _work(statements: list[str]) -> list[str]:
    # The idempotency layer forgets expired keys now and then (not per request).
    return [s for s in statements if not s.startswith("DELETE FROM idempotency_records")]


async def _fill_the_class(app: App, school: School) -> list[int]:
    """The school's class with ``CLASS_SIZE`` pupils (the world puts one in it)."""
    async with app.services.engine.begin() as connection:
        added = []
        for n in range(CLASS_SIZE - 1):
            result = await connection.execute(
                people.insert().values(
                    school_id=school.id,
                    profile="pupil",
                    username=f"pupil-{n}.cost",
                    given_name=f"Élève{n}",
                    family_name="Classe",
                    created_at=app.services.now(),
                    updated_at=app.services.now(),
                )
            )
            added.append(int(result.inserted_primary_key[0]))  # type: ignore[index]  # one row inserted
        await connection.execute(
            enrolments.insert(),
            [
                {"school_id": school.id, "group_id": school.class_id, "person_id": person_id}
                | {"role": "pupil", "subject": None}
                for person_id in added
            ],
        )
    return sorted([school.people["pupil"], *added])


async def _read(app: App, headers: dict[str, str], conversation_id: int) -> dict[str, Any]:
    response = await app.client.get(f"/api/v1/conversations/{conversation_id}", headers=headers)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _unread(app: App, headers: dict[str, str]) -> int:
    response = await app.client.get("/api/v1/unread", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["messages"])


async def test_sending_through_the_api_runs_a_handful_of_statements(
    app: App, world: dict[str, School], queries: QueryCounter
) -> None:
    school = world["a"]
    class_pupils = await _fill_the_class(app, school)
    teacher = await headers_for(app, "teacher.a")
    pupil = await headers_for(app, "pupil.a")

    async def post(
        path: str, key: str, body: dict[str, Any], sender: dict[str, str] = teacher
    ) -> tuple[int, list[str]]:
        with queries.counting() as statements:
            response = await app.client.post(
                path, json=body, headers={**sender, "idempotency-key": key}
            )
        assert response.status_code == 201, response.text
        return int(response.json()["id"]), _work(statements)

    to_one, statements = await post(
        "/api/v1/conversations",
        "send-key-0001",
        {"subject": "Sortie", "body": "Bonjour", "person_ids": [school.people["pupil"]]},
    )
    assert len(statements) == API_START_TO_ONE, statements
    read = await _read(app, pupil, to_one)
    assert read["id"] == to_one
    assert [m["body"] for m in read["messages"]] == ["Bonjour"]
    assert sorted(p["id"] for p in read["participants"]) == sorted(
        [school.people["teacher"], school.people["pupil"]]
    )
    assert await _unread(app, pupil) == 1

    to_class, statements = await post(
        "/api/v1/conversations",
        "send-key-0002",
        {"subject": "Classe", "body": "À tous", "group_ids": [school.class_id]},
    )
    assert len(statements) == API_START_TO_A_CLASS, statements
    read = await _read(app, teacher, to_class)
    assert sorted(p["id"] for p in read["participants"]) == sorted(
        [school.people["teacher"], *class_pupils]
    )
    assert await _unread(app, pupil) == 2

    message_id, statements = await post(
        f"/api/v1/conversations/{to_one}/messages", "send-key-0003", {"body": "Et la suite"}
    )
    assert len(statements) == API_REPLY, statements
    read = await _read(app, pupil, to_one)
    assert [(m["id"], m["body"], m["mine"]) for m in read["messages"][-1:]] == [
        (message_id, "Et la suite", False)
    ]
    assert await _unread(app, pupil) == 3
    assert await _unread(app, teacher) == 0

    # A parent's draft is checked against the rules and whom their children's teachers are.
    parent = await headers_for(app, "parent.a")
    from_parent, statements = await post(
        "/api/v1/conversations",
        "send-key-0004",
        {"subject": "Absence", "body": "Malade", "person_ids": [school.people["teacher"]]},
        parent,
    )
    assert len(statements) == API_PARENT_TO_TEACHER, statements
    read = await _read(app, teacher, from_parent)
    assert [(m["body"], m["author"]["id"]) for m in read["messages"]] == [
        ("Malade", school.people["parent"])
    ]
    assert await _unread(app, teacher) == 1


async def test_sending_through_the_form_runs_a_handful_of_statements(
    app: App, world: dict[str, School], queries: QueryCounter
) -> None:
    school = world["a"]
    class_pupils = await _fill_the_class(app, school)
    pupil = await headers_for(app, "pupil.a")
    browser: httpx.AsyncClient = app.client_for()
    assert (await login(browser, "teacher.a")).status_code in (302, 303)
    token = csrf_from((await browser.get("/messages/new")).text)

    async def post(path: str, key: str, data: dict[str, Any]) -> tuple[int, list[str]]:
        with queries.counting() as statements:
            response = await browser.post(
                path, data={"csrf_token": token, **data}, headers={"idempotency-key": key}
            )
        assert response.status_code in (302, 303), response.text
        location = response.headers["location"]
        return int(location.split("/")[2].split("?")[0]), _work(statements)

    to_one, statements = await post(
        "/messages/new",
        "form-key-0001",
        {"subject": "Sortie", "body": "Bonjour", "person_ids": str(school.people["pupil"])},
    )
    assert len(statements) == FORM_START_TO_ONE, statements
    read = await _read(app, pupil, to_one)
    assert [m["body"] for m in read["messages"]] == ["Bonjour"]
    assert await _unread(app, pupil) == 1

    to_class, statements = await post(
        "/messages/new",
        "form-key-0002",
        {"subject": "Classe", "body": "À tous", "group_ids": str(school.class_id)},
    )
    assert len(statements) == FORM_START_TO_A_CLASS, statements
    read = await _read(app, pupil, to_class)
    assert sorted(p["id"] for p in read["participants"]) == sorted(
        [school.people["teacher"], *class_pupils]
    )

    again, statements = await post(
        f"/messages/{to_one}/reply", "form-key-0003", {"body": "Et la suite"}
    )
    assert again == to_one
    assert len(statements) == FORM_REPLY, statements
    read = await _read(app, pupil, to_one)
    assert [(m["body"], m["mine"]) for m in read["messages"]] == [
        ("Bonjour", False),
        ("Et la suite", False),
    ]
    assert await _unread(app, pupil) == 3
    await browser.aclose()
