"""Late, cut-off, extensions, idempotent turn-in and the state machine, through HTTP."""

from __future__ import annotations

from typing import Any

from preau.adapters.sql.schema import hand_in_events, hand_ins, idempotency_keys
from tests.classwork.conftest import Api, Clock, iso, post_homework
from tests.helpers import App, School, count_rows, csrf_from, login


async def test_late_is_decided_by_the_server_and_the_cutoff_closes_every_door(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(
        teacher, world["a"], clock, due_at=iso(clock, 3600), cutoff_at=iso(clock, 7200)
    )
    path = f"/api/v1/homework/{work['id']}"
    clock.advance(3601)  # after the due time, before the cut-off
    late = await pupil.post(
        f"{path}/turn-in", json={"text": "en retard", "idempotency_key": "late-0001"}
    )
    assert (late.status_code, late.json()["late"]) == (200, True)
    assert (await pupil.post(f"{path}/take-back")).json()["state"] == "assigned"

    # A page form opened now and sent after the cut-off.
    browser = app.client_for()
    await login(browser, "pupil.a")
    page = await browser.get(f"/homework/{work['id']}")
    assert page.status_code == 200
    clock.advance(3600)  # past the cut-off
    refused_api = await pupil.post(f"{path}/turn-in", json={"text": "trop tard"})
    assert refused_api.status_code == 409
    assert "cut-off" in refused_api.json()["detail"]
    # Replaying the request that once succeeded is refused too.
    replay = await pupil.post(
        f"{path}/turn-in", json={"text": "en retard", "idempotency_key": "late-0001"}
    )
    assert replay.status_code == 409
    refused_page = await browser.post(
        f"/homework/{work['id']}/turn-in",
        data={
            "text": "trop tard",
            "csrf_token": csrf_from(page.text),
            "idempotency_key": "page-0001",
        },
    )
    assert refused_page.status_code == 409
    assert "date limite" in refused_page.text  # French by default
    assert (await pupil.get(f"{path}/hand-ins/{world['a'].people['pupil']}")).json()[
        "state"
    ] == "assigned"
    await browser.aclose()


async def test_an_extension_moves_due_time_and_cutoff_for_one_pupil(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(
        teacher, world["a"], clock, due_at=iso(clock, 3600), cutoff_at=iso(clock, 3600)
    )
    pupil_id = world["a"].people["pupil"]
    granted = await teacher.put(
        f"/api/v1/homework/{work['id']}/extensions/{pupil_id}",
        json={"due_at": iso(clock, 7200), "cutoff_at": iso(clock, 10800)},
    )
    assert granted.status_code == 200, granted.text
    assert granted.json()["extended"] is True
    clock.advance(5000)  # past the class's cut-off, within the extension
    on_time = await pupil.post(f"/api/v1/homework/{work['id']}/turn-in", json={"text": "ok"})
    assert (on_time.status_code, on_time.json()["late"]) == (200, False)


async def test_turn_in_with_the_same_key_twice_writes_once(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(teacher, world["a"], clock)
    body = {"text": "réponse", "idempotency_key": "retry-0001"}
    first = await pupil.post(f"/api/v1/homework/{work['id']}/turn-in", json=body)
    second = await pupil.post(f"/api/v1/homework/{work['id']}/turn-in", json=body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert await count_rows(app.services, hand_ins) == 1
    assert await count_rows(app.services, hand_in_events) == 1
    assert await count_rows(app.services, idempotency_keys) == 1
    # Without a key, a second turn-in of work already turned in is a clear conflict.
    again = await pupil.post(f"/api/v1/homework/{work['id']}/turn-in", json={"text": "encore"})
    assert again.status_code == 409
    # The same key for another homework is refused rather than silently reused.
    other = await post_homework(teacher, world["a"], clock, title="Autre")
    reused = await pupil.post(f"/api/v1/homework/{other['id']}/turn-in", json=body)
    assert reused.status_code == 409


async def test_teacher_marks_missing_excuses_and_resets(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(teacher, world["a"], clock)
    base = f"/api/v1/homework/{work['id']}/hand-ins/{world['a'].people['pupil']}"
    assert (await teacher.post(f"{base}/missing")).json()["state"] == "missing"
    assert (await teacher.post(f"{base}/excused")).json()["state"] == "excused"
    assert (await teacher.post(f"{base}/missing")).status_code == 409  # only from assigned
    assert (await teacher.post(f"{base}/reset")).json()["state"] == "assigned"
    # The pupil cannot take back what is not turned in, nor review.
    assert (await pupil.post(f"/api/v1/homework/{work['id']}/take-back")).status_code == 409
    assert (await pupil.post(f"{base}/return", json={"feedback": "x"})).status_code == 403
    listing = (await teacher.get(f"/api/v1/homework/{work['id']}/hand-ins")).json()
    assert [h["state"] for h in listing] == ["assigned"]


async def test_zip_of_all_hand_ins(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    import io
    import zipfile

    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(teacher, world["a"], clock)
    upload = await pupil.post(
        "/api/v1/files", files={"file": ("réponse.txt", "Voici ma réponse".encode(), "text/plain")}
    )
    await pupil.post(
        f"/api/v1/homework/{work['id']}/turn-in",
        json={"text": "Ma réponse", "file_ids": [upload.json()["id"]]},
    )
    archive = await teacher.get(f"/api/v1/homework/{work['id']}/hand-ins.zip")
    assert archive.status_code == 200
    assert archive.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(archive.content)).namelist()
    pupil_id = world["a"].people["pupil"]
    assert sorted(names) == [
        f"Pupil SchoolA ({pupil_id})/réponse.txt",
        f"Pupil SchoolA ({pupil_id})/texte.txt",
    ]
    assert (await pupil.get(f"/api/v1/homework/{work['id']}/hand-ins.zip")).status_code == 403
