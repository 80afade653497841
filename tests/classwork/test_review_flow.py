"""The teacher's review, through HTTP on both databases: previous and next pupil in the
class list (all, or only work to review), return then on to the next work to review, the
place kept (filter, back) and never sent off-site; files shown inline only when their
bytes are an image or a PDF, only to those who may read the hand-in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa

from preau.actions.directory import insert_person
from preau.adapters.sql.schema import enrolments, files, people
from preau.domain.directory import PersonDraft
from preau.domain.people import Profile
from tests.classwork.conftest import PDF, PNG, Clock, post_homework
from tests.helpers import PASSWORD, App, School, csrf_from, login


async def add_pupil(app: App, school: School, given: str, family: str) -> int:
    """A pupil of the school's class with a password, named to sort where the test wants."""
    services = app.services
    async with services.engine.begin() as connection:
        person_id = await insert_person(
            services,
            connection,
            school.id,
            PersonDraft(
                given_name=given,
                family_name=family,
                profile=Profile.PUPIL,
                username=f"{given}.{family}".lower(),
            ),
        )
        await connection.execute(
            people.update()
            .where(people.c.id == person_id)
            .values(password_hash=await services.passwords.hash(PASSWORD))
        )
        await connection.execute(
            enrolments.insert().values(
                school_id=school.id,
                group_id=school.class_id,
                person_id=person_id,
                role="pupil",
                subject=None,
            )
        )
    return person_id


async def signed_in(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for(headers={"accept-language": "en"})
    await login(client, username)
    return client


async def turn_in(
    app: App, username: str, homework_id: int, attached: tuple[tuple[str, bytes, str], ...] = ()
) -> None:
    client = await signed_in(app, username)
    page = await client.get(f"/homework/{homework_id}")
    sent = await client.post(
        f"/homework/{homework_id}/turn-in",
        data={"csrf_token": csrf_from(page.text), "text": f"Travail de {username}"},
        files=[("files", item) for item in attached],
    )
    assert sent.status_code in (302, 303), sent.text
    await client.aclose()


def neighbour(page: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', page)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_previous_next_and_return_goes_on_to_the_next_work_to_review(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    school = world["a"]
    first = await add_pupil(app, school, "Anna", "Aaron")  # before "SchoolA" in the list
    last = await add_pupil(app, school, "Zoé", "Zola")  # after it
    middle = school.people["pupil"]  # hands nothing in
    work = await post_homework(await as_user("teacher.a"), school, clock)
    homework = f"/homework/{work['id']}"
    await turn_in(app, "anna.aaron", work["id"])
    await turn_in(app, "zoé.zola", work["id"])
    teacher = await signed_in(app, "teacher.a")

    every = await teacher.get(f"{homework}/hand-ins/{first}")
    assert every.status_code == 200
    assert neighbour(every.text, "prev") is None
    assert neighbour(every.text, "next") == f"{homework}/hand-ins/{middle}"
    assert "1 of 3" in every.text
    mid = await teacher.get(f"{homework}/hand-ins/{middle}")
    assert neighbour(mid.text, "prev") == f"{homework}/hand-ins/{first}"
    assert neighbour(mid.text, "next") == f"{homework}/hand-ins/{last}"

    back = "/classwork?group=" + str(school.class_id)
    place = "?" + urlencode({"filter": "to-review", "back": back})
    waiting = await teacher.get(f"{homework}/hand-ins/{first}{place}")
    assert neighbour(waiting.text, "next") == f"{homework}/hand-ins/{last}{place}"
    assert "1 of 2" in waiting.text
    assert f'href="{homework}?back=%2Fclasswork%3Fgroup%3D{school.class_id}' in waiting.text

    returned = await teacher.post(
        f"{homework}/hand-ins/{first}/return{place}",
        data={"csrf_token": csrf_from(waiting.text), "feedback": "Bien.", "mark": "14"},
    )
    assert returned.status_code in (302, 303), returned.text
    location = returned.headers["location"]
    assert location.startswith(f"{homework}/hand-ins/{last}?filter=to-review&back=")
    following = await teacher.get(location)
    assert "Returned to Anna Aaron" in following.text
    assert neighbour(following.text, "prev") is None  # Anna's work no longer waits
    returned = await teacher.post(
        f"{homework}/hand-ins/{last}/return{place}",
        data={"csrf_token": csrf_from(following.text), "feedback": "Très bien."},
    )
    assert returned.headers["location"].startswith(f"{homework}?done=all-returned&back=")
    listing = await teacher.get(returned.headers["location"])
    assert "No other work waits for review." in listing.text
    assert f'href="{back}"' in listing.text  # "back" goes where the teacher came from
    await teacher.aclose()


async def test_back_never_leaves_preau(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    work = await post_homework(await as_user("teacher.a"), world["a"], clock)
    teacher = await signed_in(app, "teacher.a")
    for elsewhere in ("https://evil.example/", "//evil.example/classwork", "/logout", "/\\evil"):
        page = await teacher.get(f"/homework/{work['id']}", params={"back": elsewhere})
        assert page.status_code == 200
        assert 'href="/classwork">' in page.text
        assert "evil" not in page.text
        assert 'href="/logout"' not in page.text.split("<main")[1]
    await teacher.aclose()


async def test_files_shown_inline_only_when_image_or_pdf_and_readable(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, tmp_path: Path
) -> None:
    school = world["a"]
    work = await post_homework(await as_user("teacher.a"), school, clock)
    await turn_in(
        app,
        "pupil.a",
        work["id"],
        (
            ("copie.png", PNG, "image/png"),
            ("copie.pdf", PDF, "application/pdf"),
            # The type the client gives counts for nothing: these bytes are text.
            ("notes.txt", b"Mes notes, en texte.", "image/png"),
        ),
    )
    teacher = await signed_in(app, "teacher.a")
    review = await teacher.get(f"/homework/{work['id']}/hand-ins/{school.people['pupil']}")
    ids = dict(
        re.findall(r'href="/files/([0-9a-f]+)" download>(?:Download )?([^<]+)<', review.text)
    )
    by_name = {name.strip(): file_id for file_id, name in ids.items()}
    png, pdf, text = by_name["copie.png"], by_name["copie.pdf"], by_name["notes.txt"]
    assert f'<img src="/files/{png}/inline"' in review.text
    assert f'<iframe src="/files/{pdf}/inline"' in review.text
    assert f"/files/{text}/inline" not in review.text

    for file_id, kind, body in ((png, "image/png", PNG), (pdf, "application/pdf", PDF)):
        shown = await teacher.get(f"/files/{file_id}/inline")
        assert shown.status_code == 200
        assert shown.content == body
        assert shown.headers["content-type"] == kind
        assert shown.headers["content-disposition"].startswith("inline;")
        policy = shown.headers["content-security-policy"]
        assert policy == "default-src 'none'; sandbox; frame-ancestors 'self'"
        assert shown.headers["x-frame-options"] == "SAMEORIGIN"
        assert shown.headers["x-content-type-options"] == "nosniff"
        download = await teacher.get(f"/files/{file_id}")
        assert download.headers["content-disposition"].startswith("attachment;")
    refused = await teacher.get(f"/files/{text}/inline")
    assert refused.status_code == 404
    assert "download it instead" in refused.text

    parent = await signed_in(app, "parent.a")  # reads their child's work
    assert (await parent.get(f"/files/{png}/inline")).status_code == 200
    for outsider in ("other-pupil.a", "teacher.b", "pupil.b"):
        client = await signed_in(app, outsider)
        assert (await client.get(f"/files/{png}/inline")).status_code == 404, outsider
        await client.aclose()

    # Bytes changed behind the store's back are read again: no longer a PNG, not shown.
    async with app.services.engine.connect() as connection:
        key = (
            await connection.execute(sa.select(files.c.storage_key).where(files.c.id == png))
        ).scalar_one()
    await app.services.files.delete(key)
    await app.services.files.put(key, b"<html><script>alert(1)</script>", content_type="image/png")
    assert (await teacher.get(f"/files/{png}/inline")).status_code == 404
    for client in (teacher, parent):
        await client.aclose()
