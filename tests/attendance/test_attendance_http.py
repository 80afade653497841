"""Attendance through HTTP on SQLite and PostgreSQL: the roll call (one submit, all or
nothing, idempotent, audited), parents told through their announcements, a justification
with a document and the office's answer, periods, half-day counts, a parent's limited
access, and the queries a roll call costs whatever the size of the class."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from preau.actions.directory import insert_person
from preau.adapters.sql.schema import (
    absences,
    attendance_audit,
    enrolments,
    roll_call_entries,
    roll_calls,
    virtual_rooms,
    virtual_seats,
)
from preau.domain.directory import PersonDraft
from preau.domain.people import Profile
from tests.attendance.conftest import PDF, Clock, add_lesson, bearer, roll_path
from tests.helpers import App, QueryCounter, School, count_rows


async def enrol_pupils(app: App, school: School, count: int) -> list[int]:
    found = []
    async with app.services.engine.begin() as connection:
        for number in range(count):
            pupil = await insert_person(
                app.services,
                connection,
                school.id,
                PersonDraft(
                    given_name=f"Élève{number}", family_name="Classe", profile=Profile.PUPIL
                ),
            )
            await connection.execute(
                enrolments.insert().values(
                    school_id=school.id, group_id=school.class_id, person_id=pupil, role="pupil"
                )
            )
            found.append(pupil)
    return found


def statuses(roll: dict[str, Any]) -> dict[int, tuple[str, int | None]]:
    return {line["pupil_id"]: (line["status"], line["minutes"]) for line in roll["lines"]}


async def test_a_roll_call_is_saved_once_told_to_parents_and_audited(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    pupil = school.people["pupil"]
    classmates = await enrol_pupils(app, school, 2)
    lesson = await add_lesson(app, school)
    teacher = await bearer(app, "teacher.a")
    first = await teacher.get(roll_path(lesson))
    assert first.status_code == 200, first.text
    assert first.json()["taken"] is False
    assert set(statuses(first.json()).values()) == {("present", None)}

    body = {
        "entries": [
            {"pupil_id": pupil, "status": "absent"},
            {"pupil_id": classmates[0], "status": "late", "minutes": 12},
        ]
    }
    saved = await teacher.put(roll_path(lesson), json=body)
    assert saved.status_code == 200, saved.text
    assert saved.json()["changed"] == 3  # the third pupil, not sent, is present
    assert statuses(saved.json()["roll_call"]) == {
        pupil: ("absent", None),
        classmates[0]: ("late", 12),
        classmates[1]: ("present", None),
    }
    assert await count_rows(app.services, absences) == 1
    audited = await count_rows(app.services, attendance_audit)
    assert audited == 4  # three entries and the absence

    again = await teacher.put(roll_path(lesson), json=body)
    assert again.json()["changed"] == 0
    assert await count_rows(app.services, attendance_audit) == audited

    # The parent is told through an announcement, and sees the absence.
    parent = await bearer(app, "parent.a")
    inbox = (await parent.get("/api/v1/announcements")).json()
    titles = [item["title"] for item in inbox["items"]]
    assert titles == ["Absence : SchoolA Pupil"], inbox
    mine = (await parent.get(f"/api/v1/attendance/pupils/{pupil}")).json()
    assert [item["state"] for item in mine["absences"]] == ["unjustified"]
    assert (mine["counts"]["missed"], mine["counts"]["unjustified"]) == (1, 1)

    # Present again: the absence goes, with its history; nobody is told twice.
    back = await teacher.put(
        roll_path(lesson), json={"entries": [{"pupil_id": pupil, "status": "present"}]}
    )
    assert back.json()["changed"] == 1
    assert await count_rows(app.services, absences) == 0
    inbox = (await parent.get("/api/v1/announcements")).json()
    assert len(inbox["items"]) == 1
    staff = await bearer(app, "staff.a")
    history = (await staff.get(f"/api/v1/attendance/pupils/{pupil}/history")).json()
    # Newest first; in one save, the entries come before the absences they make.
    assert [entry["change"] for entry in history] == [
        "removed",
        "roll_call",
        "absence",
        "roll_call",
    ]
    assert history[1]["before"] == {"status": "absent", "minutes": None}
    assert history[1]["after"] == {"status": "present", "minutes": None}
    assert history[1]["actor_name"] == "Teacher SchoolA"


async def test_a_bad_entry_refuses_the_whole_roll_call(app: App, world: dict[str, School]) -> None:
    school = world["a"]
    lesson = await add_lesson(app, school)
    teacher = await bearer(app, "teacher.a")
    pupil = school.people["pupil"]
    for entries, field in (
        ([{"pupil_id": pupil, "status": "late"}], "entries.0.minutes"),
        ([{"pupil_id": pupil, "status": "late", "minutes": 900}], "entries.0.minutes"),
        ([{"pupil_id": school.people["other_pupil"], "status": "absent"}], "entries.0"),
        ([{"pupil_id": pupil, "status": "absent"}, {"pupil_id": pupil, "status": "absent"}],
         "entries.1"),
    ):  # fmt: skip
        refused = await teacher.put(roll_path(lesson), json={"entries": entries})
        assert refused.status_code == 400, entries
        assert refused.json()["field"] == field
        assert "nothing was saved" in refused.json()["detail"].lower() or "rien" in refused.text
    strange = await teacher.put(
        roll_path(lesson), json={"entries": [{"pupil_id": pupil, "status": "asleep"}]}
    )
    assert strange.status_code == 400
    assert await count_rows(app.services, roll_calls) == 0
    assert await count_rows(app.services, roll_call_entries) == 0
    # Tuesday has no lesson; a cancelled one has no roll call.
    assert (await teacher.get(roll_path(lesson, "2026-11-24"))).status_code == 404
    admin = await bearer(app, "admin.a")
    cancelled = await admin.post(
        "/api/v1/timetable/changes",
        json={"lesson_id": lesson["id"], "day": "2026-11-30", "kind": "cancelled"},
    )
    assert cancelled.status_code in (200, 201), cancelled.text
    assert (await teacher.get(roll_path(lesson, "2026-11-30"))).status_code == 409


async def test_a_parent_justifies_with_a_document_and_the_office_answers(
    app: App, world: dict[str, School], clock: Clock
) -> None:
    school = world["a"]
    pupil = school.people["pupil"]
    lesson = await add_lesson(app, school)
    teacher = await bearer(app, "teacher.a")
    await teacher.put(
        roll_path(lesson), json={"entries": [{"pupil_id": pupil, "status": "absent"}]}
    )
    parent = await bearer(app, "parent.a")
    absence_id = (await parent.get(f"/api/v1/attendance/pupils/{pupil}")).json()["absences"][0][
        "id"
    ]
    path = f"/api/v1/attendance/absences/{absence_id}"
    note = {"file": ("mot.txt", b"Il avait de la fievre.", "text/plain")}
    no_reason = await parent.post(path + "/justification", data={"reason": "because"}, files=note)
    assert no_reason.status_code == 400, no_reason.text
    assert no_reason.json()["field"] == "reason"
    bad_file = await parent.post(
        path + "/justification",
        data={"reason": "illness"},
        files={"file": ("virus.exe", b"MZ\x90\x00" + b"\x00" * 64, "application/octet-stream")},
    )
    assert bad_file.status_code == 415, bad_file.text
    pupil_client = await bearer(app, "pupil.a")
    assert (
        await pupil_client.post(path + "/justification", data={"reason": "illness"}, files=note)
    ).status_code == 403
    justified = await parent.post(
        path + "/justification",
        data={"reason": "illness", "comment": "Fièvre, certificat joint."},
        files={"file": ("certificat.pdf", PDF, "application/pdf")},
    )
    assert justified.status_code == 200, justified.text
    absence = justified.json()["absences"][0]
    assert (absence["state"], absence["reason"], absence["has_document"]) == (
        "pending",
        "illness",
        True,
    )
    twice = await parent.post(path + "/justification", data={"reason": "family"}, files=note)
    assert twice.status_code == 409

    staff = await bearer(app, "staff.a")
    document = await staff.get(path + "/document")
    assert document.status_code == 200
    assert document.content == PDF
    assert document.headers["content-disposition"].startswith("attachment;")
    assert (await teacher.post(path + "/answer", json={"accept": True})).status_code == 403
    silent_refusal = await staff.post(path + "/answer", json={"accept": False})
    assert silent_refusal.status_code == 400
    accepted = await staff.post(path + "/answer", json={"accept": True, "note": "Merci."})
    assert accepted.status_code == 200, accepted.text
    counts = accepted.json()["counts"]
    assert (counts["missed"], counts["justified"], counts["unjustified"]) == (1, 1, 0)
    inbox = (await parent.get("/api/v1/announcements")).json()
    assert inbox["items"][0]["title"] == "Absence justifiée : SchoolA Pupil"


async def test_periods_count_half_days_and_the_threshold_is_flagged(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    pupil = school.people["pupil"]
    staff = await bearer(app, "staff.a")
    # Monday 2 to Tuesday 3 November morning: three half-days.
    recorded = await staff.post(
        "/api/v1/attendance/absences",
        json={
            "pupil_id": pupil,
            "first_day": "2026-11-02",
            "first_half": "morning",
            "last_day": "2026-11-03",
            "last_half": "morning",
        },
    )
    assert recorded.status_code == 201, recorded.text
    backwards = await staff.post(
        "/api/v1/attendance/absences",
        json={"pupil_id": pupil, "first_day": "2026-11-05", "last_day": "2026-11-04"},
    )
    assert backwards.status_code == 400
    teacher = await bearer(app, "teacher.a")
    refused = await teacher.post(
        "/api/v1/attendance/absences",
        json={"pupil_id": pupil, "first_day": "2026-11-05", "last_day": "2026-11-05"},
    )
    assert refused.status_code == 403
    view = (await staff.get(f"/api/v1/attendance/pupils/{pupil}")).json()
    assert view["counts"]["unjustified"] == 3
    assert view["counts"]["flagged"] is False
    await staff.post(
        "/api/v1/attendance/absences",
        json={"pupil_id": pupil, "first_day": "2026-11-06", "last_day": "2026-11-06",
              "last_half": "morning"},
    )  # fmt: skip
    view = (await staff.get(f"/api/v1/attendance/pupils/{pupil}")).json()
    assert view["counts"]["months"] == [
        {"month": "2026-11", "missed": 4, "unjustified": 4, "flagged": True}
    ]
    group = (await staff.get(f"/api/v1/attendance/groups/{school.class_id}")).json()
    line = next(item for item in group["lines"] if item["pupil_id"] == pupil)
    assert (line["missed"], line["unjustified"], line["flagged"]) == (4, 4, True)
    desk = (await staff.get("/api/v1/attendance/office")).json()
    assert [item["pupil_id"] for item in desk["flagged"]] == [pupil]
    # A phoned-in reason justifies at once.
    await staff.post(
        "/api/v1/attendance/absences",
        json={"pupil_id": pupil, "first_day": "2026-11-09", "last_day": "2026-11-09",
              "reason": "appointment"},
    )  # fmt: skip
    view = (await staff.get(f"/api/v1/attendance/pupils/{pupil}")).json()
    assert (view["counts"]["missed"], view["counts"]["justified"]) == (6, 2)


async def test_a_limited_parent_neither_sees_nor_is_told(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    pupil = school.people["pupil"]
    parent_id = school.people["parent"]
    path = f"/api/v1/attendance/parents/{parent_id}/children/{pupil}"
    staff = await bearer(app, "staff.a")
    assert (await staff.put(path, json={"limited": True})).status_code == 403
    admin = await bearer(app, "admin.a")
    assert (await admin.put(path, json={"limited": True})).json() == {"limited": True}
    lesson = await add_lesson(app, school)
    teacher = await bearer(app, "teacher.a")
    await teacher.put(
        roll_path(lesson), json={"entries": [{"pupil_id": pupil, "status": "absent"}]}
    )
    parent = await bearer(app, "parent.a")
    assert (await parent.get(f"/api/v1/attendance/pupils/{pupil}")).status_code == 404
    assert (await parent.get("/api/v1/announcements")).json()["items"] == []
    await admin.put(path, json={"limited": False})
    assert (await parent.get(f"/api/v1/attendance/pupils/{pupil}")).status_code == 200


async def test_a_virtual_lesson_is_prefilled_from_the_room(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    pupil = school.people["pupil"]
    late, left, away = await enrol_pupils(app, school, 3)
    lesson = await add_lesson(app, school, virtual=True)
    start = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    end = datetime(2026, 11, 23, 7, 55, tzinfo=UTC)
    async with app.services.engine.begin() as connection:
        room = await connection.execute(
            virtual_rooms.insert().values(
                school_id=school.id, group_id=school.class_id, lesson_id=lesson["id"],
                day=start.date(), teacher_id=school.people["teacher"],
                title="Maths", starts_at=start, ends_at=end, janus_room=4242, expected=5,
                capacity=40, bitrate=256000, created_at=start,
            )
        )  # fmt: skip
        room_id = room.inserted_primary_key[0]  # type: ignore[index]  # one row inserted
        seats = [
            (pupil, start.replace(minute=1), end.replace(minute=54)),
            (late, start.replace(minute=20), end.replace(minute=55)),
            (left, start.replace(minute=0), start.replace(minute=30)),
        ]
        await connection.execute(
            virtual_seats.insert(),
            [
                {"school_id": school.id, "room_id": room_id, "person_id": person,
                 "role": "pupil", "issued_at": joined, "last_seen_at": seen}
                for person, joined, seen in seats
            ],
        )  # fmt: skip
    teacher = await bearer(app, "teacher.a")
    roll = (await teacher.get(roll_path(lesson))).json()
    assert statuses(roll) == {
        pupil: ("present", None),
        late: ("late", 20),
        left: ("left_early", 25),
        away: ("absent", None),
    }
    assert all(line["from_room"] for line in roll["lines"])


async def _roll_call_queries(app: App, school: School, letter: str, pupils: int) -> tuple[int, int]:
    added = await enrol_pupils(app, school, pupils)
    lesson = await add_lesson(app, school, admin=f"admin.{letter}")
    teacher = await bearer(app, f"teacher.{letter}")
    counter = QueryCounter(app.services.engine)
    body = {
        "entries": [
            {"pupil_id": added[0], "status": "absent"},
            {"pupil_id": added[1], "status": "late", "minutes": 5},
        ]
    }
    await teacher.get(roll_path(lesson))  # the school's zone, read once per process
    with counter.counting() as read_queries:
        assert (await teacher.get(roll_path(lesson))).status_code == 200
    with counter.counting() as write_queries:
        saved = await teacher.put(roll_path(lesson), json=body)
    assert saved.status_code == 200, saved.text
    assert len(saved.json()["roll_call"]["lines"]) == pupils + 1
    return len(read_queries), len(write_queries)


async def test_a_roll_call_costs_the_same_queries_for_5_or_30_pupils(
    app: App, world: dict[str, School]
) -> None:
    small = await _roll_call_queries(app, world["a"], "a", 5)
    large = await _roll_call_queries(app, world["b"], "b", 30)
    assert small == large
    # Read: the lesson and the reader's links to its group, the occurrence's changes and
    # holidays, the pupils, the saved roll call, the office's periods. Write: the same
    # checks, the roll call, its entries, the absence, the audit, the notice to parents
    # and the new unread counts, then the roll call read again.
    assert small == (7, 20), small


async def test_a_pupils_floor_polls_say_how_long_they_stayed(
    app: App, world: dict[str, School], clock: Clock
) -> None:
    school = world["a"]
    lesson = await add_lesson(app, school, virtual=True)
    start = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    clock.set(start + timedelta(minutes=10))
    async with app.services.engine.begin() as connection:
        room = await connection.execute(
            virtual_rooms.insert().values(
                school_id=school.id, group_id=school.class_id, lesson_id=lesson["id"],
                day=start.date(), teacher_id=school.people["teacher"], title="Maths",
                starts_at=start, ends_at=start + timedelta(minutes=55), janus_room=4343,
                expected=2, capacity=40, bitrate=256000, created_at=start,
            )
        )  # fmt: skip
        room_id = room.inserted_primary_key[0]  # type: ignore[index]  # one row inserted
        await connection.execute(
            virtual_seats.insert().values(
                school_id=school.id, room_id=room_id, person_id=school.people["pupil"],
                role="pupil", issued_at=start, last_seen_at=start,
            )
        )  # fmt: skip

    async def last_seen() -> datetime:
        async with app.services.engine.connect() as connection:
            value: datetime = (
                await connection.execute(sa.select(virtual_seats.c.last_seen_at))
            ).scalar_one()
        return value

    pupil = await bearer(app, "pupil.a")
    assert (await pupil.get(f"/api/v1/virtual/rooms/{room_id}/floor")).status_code == 200
    assert await last_seen() == start + timedelta(minutes=10)
    clock.set(start + timedelta(minutes=20))
    await pupil.get(f"/api/v1/virtual/rooms/{room_id}/floor")  # within a minute: not written
    assert await last_seen() == start + timedelta(minutes=10)
    # The lesson over, the roll call says the pupil left 45 minutes early.
    clock.set(start + timedelta(hours=2))
    teacher = await bearer(app, "teacher.a")
    roll = (await teacher.get(roll_path(lesson))).json()
    assert statuses(roll)[school.people["pupil"]] == ("left_early", 45)
