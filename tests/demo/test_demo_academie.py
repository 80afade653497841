"""`preau demo --size small` seeds load-test data once; its people file holds working logins."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa

from preau.adapters.sql.schema import homework, homework_attachments, people, schools
from preau.demo.academie import SIZES, seed_academie
from preau.demo.school import DEMO_PASSWORD
from preau.domain.people import Profile
from tests.helpers import App, count_rows, login


def read_people(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


async def pupils_count(app: App) -> int:
    async with app.services.engine.connect() as connection:
        return int(
            (
                await connection.execute(
                    sa.select(sa.func.count())
                    .select_from(people)
                    .where(people.c.profile == Profile.PUPIL.value)
                )
            ).scalar_one()
        )


async def test_small_demo_is_seeded_once_and_its_people_file_works(
    app: App, tmp_path: Path
) -> None:
    size = SIZES["small"]
    path = tmp_path / "people.csv"
    first = await seed_academie(app.services, size, people_file=path, device_tokens=True)
    assert first.created
    assert await count_rows(app.services, schools) == size.schools
    assert await pupils_count(app) == size.pupils
    assert await count_rows(app.services, homework) > 0
    assert await count_rows(app.services, homework_attachments) > 0
    rows = read_people(path)
    assert len(rows) == await count_rows(app.services, people)
    codes = {row["username"]: row["activation_code"] for row in rows if row["activation_code"]}
    assert codes, "some accounts are left to activate"

    # A second run adds nothing; it re-issues the credentials (old codes stop working).
    totals = [await count_rows(app.services, t) for t in (people, homework)]
    second = await seed_academie(app.services, size, people_file=path, device_tokens=True)
    assert not second.created
    assert [await count_rows(app.services, t) for t in (people, homework)] == totals
    rows = read_people(path)
    renewed = {row["username"]: row["activation_code"] for row in rows if row["activation_code"]}
    assert renewed.keys() == codes.keys()
    assert all(renewed[name] != codes[name] for name in codes)

    pupils = [row for row in rows if row["profile"] == "pupil"]
    with_password = next(row for row in pupils if row["password"] and not row["device_token"])
    client = app.client_for()
    response = await login(client, with_password["username"], DEMO_PASSWORD, remember=False)
    assert response.status_code in (302, 303), response.text
    todo = await client.get("/api/v1/todo")
    assert todo.status_code == 200, todo.text

    # A returning device resumes with its pre-issued credential, no password.
    remembered = next(row for row in pupils if row["device_token"])
    device = app.client_for(cookies={"preau_device": remembered["device_token"]})
    page = await device.get("/api/v1/me")
    assert page.status_code == 200, page.text
    assert page.json()["username"] == remembered["username"]

    # A never-activated account activates with its code from the file.
    newcomer = next(row for row in pupils if row["activation_code"])
    activated = await app.client_for().post(
        "/api/v1/activation",
        json={
            "username": newcomer["username"],
            "code": newcomer["activation_code"],
            "password": DEMO_PASSWORD,
        },
    )
    assert activated.status_code in (200, 201), activated.text
