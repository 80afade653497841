"""One occurrence held as a virtual class, or back in class, through HTTP: on a day with no
change yet (a change row is written) and on a day already changed (its change is kept)."""

from __future__ import annotations

from typing import Any

from tests.helpers import App, School
from tests.timetable.test_timetable_http import add_lesson, bearer


def occurrence_on(week: dict[str, Any], day: str) -> dict[str, Any]:
    found: dict[str, Any] = next(item for item in week["occurrences"] if item["day"] == day)
    return found


async def test_one_occurrence_goes_virtual_and_back_keeping_its_other_change(
    app: App, world: dict[str, School]
) -> None:
    lesson = await add_lesson(app, world["a"])
    teacher = await bearer(app, "teacher.a")

    async def hold(day: str, *, virtual: bool) -> None:
        body = {"lesson_id": lesson["id"], "day": day, "virtual": virtual}
        response = await teacher.post("/api/v1/timetable/virtual", json=body)
        assert response.status_code == 204, response.text

    async def seen(week: str, day: str) -> dict[str, Any]:
        return occurrence_on((await teacher.get(f"/api/v1/timetable/week?week={week}")).json(), day)

    await hold("2026-11-30", virtual=True)  # no change on that day yet
    first = await seen("2026-W49", "2026-11-30")
    assert (first["virtual"], first["status"]) == (True, "normal")
    assert (await seen("2026-W50", "2026-12-07"))["virtual"] is False  # only that day
    await hold("2026-11-30", virtual=False)
    assert (await seen("2026-W49", "2026-11-30"))["virtual"] is False

    cancelled = {
        "lesson_id": lesson["id"],
        "day": "2026-12-07",
        "kind": "cancelled",
        "note": "Sortie",
    }
    assert (await teacher.post("/api/v1/timetable/changes", json=cancelled)).status_code == 201
    await hold("2026-12-07", virtual=True)  # the day's change row already exists
    second = await seen("2026-W50", "2026-12-07")
    assert (second["virtual"], second["status"], second["note"]) == (True, "cancelled", "Sortie")
