"""Turning work in is the write of the morning: a handful of statements, and the answer it
gives is the same as reading the hand-in afterwards."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from preau.actions.classwork import hand_ins
from preau.adapters.sql.schema import hand_in_events, idempotency_keys
from tests.classwork.conftest import PDF, Api, Clock, iso, post_homework
from tests.classwork.test_homework_page_cache import Page, idempotency_key, signed_in
from tests.helpers import App, QueryCounter, School, csrf_from

# Claim the request's key; one read of the homework, whether it is set for the pupil, the
# hand-in, an extension and the pupil's name; on PostgreSQL one statement creates the
# hand-in turned in with its event and the pupil's read version (three elsewhere); the key
# done (at the commit) and its answer.
FIRST_TURN_IN = 5
# With a file handed in: the file is checked as the pupil's, the hand-in created apart
# (RETURNING its id), the file linked and read back; the event with the read version.
FIRST_TURN_IN_WITH_A_FILE = FIRST_TURN_IN + 4
# Turned in again after taking it back: an update instead of the creation, its event and
# read version apart, the files already handed in are read to add to them, and the files
# and events are read back.
AGAIN = FIRST_TURN_IN + 5
# The form of the pupil's page (its key in the form, not a header): the one read, then the
# hand-in, its event, the read version and the key with its answer in one statement
# (on PostgreSQL; four statements elsewhere).
FIRST_TURN_IN_BY_FORM = 2


def _apart(app: App, statements: int) -> int:
    """Without PostgreSQL's data-modifying CTEs, the statements a first turn-in joins into
    one there."""
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
    assert len(first) == FIRST_TURN_IN + _apart(app, 2), first
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


async def test_a_turn_in_by_the_form_runs_two_statements_and_a_retry_changes_nothing(
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
    assert len(_work(statements)) == FIRST_TURN_IN_BY_FORM + _apart(app, 3), "\n".join(
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


async def test_a_first_turn_in_that_finds_the_hand_in_created_meanwhile_turns_it_in_once(
    app: App,
    world: dict[str, School],
    clock: Clock,
    as_user: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two requests at once both read no hand-in; the second one's creation finds the
    first's row: it writes nothing of its own creation and turns that row in instead."""
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(teacher, world["a"], clock, due_at=iso(clock, 3600))
    path = f"/api/v1/homework/{work['id']}"
    first = await pupil.post(
        f"{path}/turn-in", json={"text": "Un", "idempotency_key": "race-key-1"}
    )
    assert first.status_code == 200, first.text
    taken = await pupil.post(f"{path}/take-back")
    assert taken.status_code == 200, taken.text
    read_before = hand_ins.access_own_hand_in  # type: ignore[attr-defined] # the name the action calls

    async def as_if_not_created_yet(*given: Any, **named: Any) -> Any:
        return (await read_before(*given, **named))._replace(hand_in=None)

    monkeypatch.setattr(hand_ins, "access_own_hand_in", as_if_not_created_yet)
    again = await pupil.post(
        f"{path}/turn-in", json={"text": "Deux", "idempotency_key": "race-key-2"}
    )
    assert again.status_code == 200, again.text
    answer = again.json()
    assert answer["text"] == "Deux"
    assert [e["to_state"] for e in answer["events"]] == ["turned_in", "assigned", "turned_in"]
    monkeypatch.undo()
    read = await pupil.get(f"{path}/hand-ins/{answer['pupil_id']}")
    assert read.json() == answer
    async with app.services.engine.connect() as connection:
        keys = (await connection.execute(sa.select(idempotency_keys.c.key))).scalars().all()
    assert sorted(keys) == ["race-key-1", "race-key-2"]
