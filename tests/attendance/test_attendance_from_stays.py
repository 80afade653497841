"""Attendance from the class page's stays: opening the page's live stream and closing it
are what the roll call reads (the seat's ``last_seen_at``), and what the teacher's
"who stayed, and how long" counts — one source, no second copy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from preau.adapters.sql.schema import virtual_rooms, virtual_seats
from tests.attendance.conftest import Clock, add_lesson, bearer, roll_path
from tests.helpers import App, School, api_token
from tests.virtual.room_stream import open_room_stream


async def test_a_stay_in_the_room_is_what_the_roll_call_reads(
    app: App, world: dict[str, School], clock: Clock
) -> None:
    school = world["a"]
    pupil = school.people["pupil"]
    lesson = await add_lesson(app, school, virtual=True)
    start = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    async with app.services.engine.begin() as connection:
        room = await connection.execute(
            virtual_rooms.insert().values(
                school_id=school.id, group_id=school.class_id, lesson_id=lesson["id"],
                day=start.date(), teacher_id=school.people["teacher"], title="Maths",
                starts_at=start, ends_at=start + timedelta(minutes=55), janus_room=4444,
                expected=2, capacity=40, bitrate=256000, created_at=start,
            )
        )  # fmt: skip
        room_id = int(room.inserted_primary_key[0])  # type: ignore[index]  # one row inserted
        await connection.execute(
            virtual_seats.insert().values(
                school_id=school.id, room_id=room_id, person_id=pupil,
                role="pupil", issued_at=start + timedelta(minutes=2), last_seen_at=None,
            )
        )  # fmt: skip
    token = await api_token(app.client_for(), "pupil.a")
    clock.set(start + timedelta(minutes=2))
    async with open_room_stream(app, token, room_id) as stream:
        assert await stream.until("hello") == {"role": "pupil"}
        clock.set(start + timedelta(minutes=25))  # the page closes at 08:25
    clock.set(start + timedelta(minutes=40))
    async with open_room_stream(app, token, room_id) as stream:  # back for five minutes
        await stream.until("hello")
        clock.set(start + timedelta(minutes=45))

    clock.set(start + timedelta(hours=2))
    teacher = await bearer(app, "teacher.a")
    stayed = (await teacher.get(f"/api/v1/virtual/rooms/{room_id}/presence")).json()
    line = next(item for item in stayed if item["person_id"] == pupil)
    assert line["seconds"] == (23 + 5) * 60
    assert len(line["stays"]) == 2
    roll = (await teacher.get(roll_path(lesson))).json()
    entry = next(item for item in roll["lines"] if item["pupil_id"] == pupil)
    assert (entry["status"], entry["minutes"]) == ("left_early", 10)  # gone at 08:45
    assert entry["from_room"]
