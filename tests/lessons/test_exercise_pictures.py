"""Pictures with questions: a teacher shows one with a question, the pupil sees it with its
description, it is served as the raster type its bytes are, in a sandbox, only to those
who may read the exercise; a replaced or removed picture leaves no file behind, and bad
files get a sentence with nothing written."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from preau.adapters.sql.schema import exercise_images
from preau.web.icons import png
from tests.classwork.conftest import Clock
from tests.helpers import App, School, count_rows
from tests.lessons.test_exercises_http import set_up

PNG = png(32)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200)


def stored(app: App) -> list[Path]:
    root = Path(str(app.services.settings.files_dir))
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


def picture_form(data: bytes, alt: str, name: str = "figure.png") -> dict[str, Any]:
    return {"files": {"file": (name, data, "application/octet-stream")}, "data": {"alt": alt}}


async def test_a_picture_is_shown_with_its_question_to_those_who_read_the_exercise(
    app: App, as_user: Any, world: dict[str, School], clock: Clock
) -> None:
    _work, exercise = await set_up(as_user, world, clock)
    teacher = await as_user("teacher.a")
    api = f"/api/v1/exercises/{exercise['id']}/questions/0/picture"
    page = f"/exercises/{exercise['id']}/questions/0/picture"
    sent = await teacher.put(api, **picture_form(PNG, "  Une carte   de France  "))
    assert sent.status_code == 204, sent.text
    assert len(stored(app)) == 1

    pupil = await as_user("pupil.a")
    attempt = (await pupil.post(f"/api/v1/exercises/{exercise['id']}/attempts")).json()
    pictures = {q["position"]: q["picture"] for q in attempt["questions"]}
    assert pictures == {0: "Une carte de France", 1: None, 2: None, 3: None}
    shown = await pupil.get(page)
    assert shown.status_code == 200
    assert shown.content == PNG
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert shown.headers["x-content-type-options"] == "nosniff"
    assert shown.headers["cache-control"].startswith("private")

    # Replaced: the type is read from the bytes, not the name; the old file is gone.
    again = await teacher.put(api, **picture_form(JPEG, "Une photo", name="carte.png"))
    assert again.status_code == 204, again.text
    assert (await pupil.get(page)).headers["content-type"] == "image/jpeg"
    assert len(stored(app)) == 1

    # Another school's people cannot know it exists.
    for username in ("teacher.b", "pupil.b"):
        stranger = await as_user(username)
        assert (await stranger.get(page)).status_code == 404
        assert (await stranger.put(api, **picture_form(PNG, "Intrus"))).status_code == 404
    # The pupil reads the exercise but cannot change it.
    refused = await pupil.put(api, **picture_form(PNG, "Ma photo"))
    assert refused.status_code in {403, 404}
    assert (await pupil.delete(api)).status_code in {403, 404}

    removed = await teacher.delete(api)
    assert removed.status_code == 204
    assert (await pupil.get(page)).status_code == 404
    assert stored(app) == []
    assert (await teacher.delete(api)).status_code == 404


async def test_bad_pictures_get_a_sentence_and_leave_nothing(
    app: App, as_user: Any, world: dict[str, School], clock: Clock
) -> None:
    _work, exercise = await set_up(as_user, world, clock)
    teacher = await as_user("teacher.a")
    api = f"/api/v1/exercises/{exercise['id']}/questions/0/picture"
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    for form, field in (
        (picture_form(b"%PDF-1.4 not a picture", "Une figure"), "file"),
        (picture_form(svg, "Une figure", name="figure.svg"), "file"),  # can carry script
        (picture_form(PNG + bytes(2_000_001), "Trop grande"), "file"),
        (picture_form(PNG, "   "), "alt"),
        (picture_form(PNG, "a" * 301), "alt"),
        (picture_form(PNG, "Deux\nlignes"), "alt"),
    ):
        answer = await teacher.put(api, **form)
        assert answer.status_code in {400, 413}, answer.text
        if answer.status_code == 400:
            assert answer.json()["field"] == field, answer.text
            assert answer.json()["detail"]
    beyond = f"/api/v1/exercises/{exercise['id']}/questions/4/picture"  # four questions
    assert (await teacher.put(beyond, **picture_form(PNG, "Figure"))).status_code == 404
    assert await count_rows(app.services, exercise_images) == 0
    assert stored(app) == []


async def test_the_teacher_manages_pictures_on_a_page_and_the_pupil_sees_them(
    app: App, as_user: Any, world: dict[str, School], clock: Clock
) -> None:
    _work, exercise = await set_up(as_user, world, clock)
    teacher = await as_user("teacher.a")
    listing = await teacher.get(f"/exercises/{exercise['id']}/pictures")
    assert listing.status_code == 200
    assert "Quelle est la capitale de la France" in listing.text
    answer = await teacher.put(
        f"/api/v1/exercises/{exercise['id']}/questions/1/picture",
        **picture_form(PNG, "Un cercle et son diamètre"),
    )
    assert answer.status_code == 204
    listing = await teacher.get(f"/exercises/{exercise['id']}/pictures")
    assert 'alt="Un cercle et son diamètre"' in listing.text
    pupil = await as_user("pupil.a")
    attempt = (await pupil.post(f"/api/v1/exercises/{exercise['id']}/attempts")).json()
    page = await pupil.get(f"/attempts/{attempt['id']}?q=1")
    assert page.status_code == 200
    assert f'src="/exercises/{exercise["id"]}/questions/1/picture"' in page.text
    assert 'alt="Un cercle et son diamètre"' in page.text
