"""Turning work in is the write of the morning: a handful of statements, and the answer it
gives is the same as reading the hand-in afterwards."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from preau.adapters.sql.schema import hand_in_events, idempotency_keys
from tests.classwork.conftest import PDF, Api, Clock, iso, post_homework
from tests.classwork.test_homework_page_cache import Page, idempotency_key, signed_in
from tests.helpers import App, QueryCounter, School, csrf_from

# Claim the request's key; one read of the homework, whether it is set for the pupil, the
# hand-in, an extension and the pupil's name; create the hand-in turned in (RETURNING); its
# event with the pupil's read version (one statement on PostgreSQL, two elsewhere); the key
# done (at the commit) and its answer.
FIRST_TURN_IN = 6
# With a file handed in: the file is checked as the pupil's, linked, and read back.
FIRST_TURN_IN_WITH_A_FILE = FIRST_TURN_IN + 3
# Turned in again after taking it back: an update instead of the creation, its event and
# read version apart, the files already handed in are read to add to them, and the files
# and events are read back.
AGAIN = FIRST_TURN_IN + 4
# The form of the pupil's page (its key in the form, not a header): the one read, the
# hand-in created, then its event, the read version and the key with its answer at once
# (on PostgreSQL; three statements elsewhere).
FIRST_TURN_IN_BY_FORM = 3


def _apart(app: App, statements: int) -> int:
    """Without PostgreSQL's data-modifying CTEs, the statements a first turn-in joins."""
    return 0 if app.services.engine.dialect.name == "postgresql" else statements


def _work(statements: list[str]) -> list[str]:
    # The idempotency layer forgets expired keys now and then (not per request).
    return [s for s in statements if not s.startswith("DELETE FROM idempotency_records")]


async def test_a_turn_in_runs_a_handful_of_statements(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(teacher, world["a"], clock, due_at=iso(clock, 3600))
    other_work = await post_homework(teacher, world["a"], clock, due_at=iso(clock, 3600))

    async def turn_in(homework_id: int, key: str, **body: Any) -> tuple[dict[str, Any], list[str]]:
        with queries.counting() as statements:
            response = await pupil.client.post(
                f"/api/v1/homework/{homework_id}/turn-in",
                json=body,
                headers={**pupil.headers, "idempotency-key": key},
            )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        read = await pupil.get(f"/api/v1/homework/{homework_id}/hand-ins/{answer['pupil_id']}")
        assert read.status_code == 200, read.text
        assert answer == read.json()  # the answer built from what the write holds is true
        return answer, _work(statements)

    answer, first = await turn_in(work["id"], "turn-in-key-0001", text="Ma réponse")
    assert len(first) == FIRST_TURN_IN + _apart(app, 1), first
    assert answer["state"] == "turned_in"
    assert [event["to_state"] for event in answer["events"]] == ["turned_in"]

    upload = await pupil.post(
        "/api/v1/files", files={"file": ("copie.pdf", PDF, "application/pdf")}
    )
    assert upload.status_code == 201, upload.text
    answer, with_file = await turn_in(
        other_work["id"], "turn-in-key-0002", text="", file_ids=[upload.json()["id"]]
    )
    assert [f["name"] for f in answer["files"]] == ["copie.pdf"]
    assert len(with_file) == FIRST_TURN_IN_WITH_A_FILE + _apart(app, 1), "\n".join(
        s[:90] for s in with_file
    )

    taken = await pupil.post(f"/api/v1/homework/{work['id']}/take-back")
    assert taken.status_code == 200, taken.text
    answer, again = await turn_in(work["id"], "turn-in-key-0003", text="Ma réponse, corrigée")
    assert [e["to_state"] for e in answer["events"]] == ["turned_in", "assigned", "turned_in"]
    assert len(again) == AGAIN, "\n".join(s[:90] for s in again)


async def test_a_turn_in_by_the_form_runs_three_statements_and_a_retry_changes_nothing(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock, due_at=iso(clock, 3600))
    path = f"/homework/{work['id']}"
    browser = await signed_in(app, "pupil.a")
    page = await Page(browser, path, queries).warm()
    form = {"csrf_token": csrf_from(page), "text": "Mes réponses", "idempotency_key": ""}
    form["idempotency_key"] = idempotency_key(page)
    with queries.counting() as statements:
        first = await browser.post(f"{path}/turn-in", data=form)
    assert first.status_code in (302, 303), first.text
    assert len(_work(statements)) == FIRST_TURN_IN_BY_FORM + _apart(app, 2), "\n".join(
        s[:90] for s in statements
    )
    retry = await browser.post(f"{path}/turn-in", data=form)  # the same key: the first answer
    assert retry.status_code in (302, 303), retry.text
    async with app.services.engine.connect() as connection:
        events = (
            await connection.execute(
                sa.select(hand_in_events.c.from_state, hand_in_events.c.to_state)
            )
        ).all()
        keys = (await connection.execute(sa.select(idempotency_keys.c.action))).scalars().all()
    assert [tuple(event) for event in events] == [("assigned", "turned_in")]
    assert keys == [f"turn_in:{work['id']}"]
    assert "Mes réponses" in await Page(browser, path, queries).view()
    await browser.aclose()
