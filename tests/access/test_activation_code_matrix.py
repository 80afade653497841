"""Activation codes (a password reset by the school), as a role × person × school matrix
through the API, and the vie scolaire's page: administrators issue codes for anyone of
their school, the vie scolaire for pupils, parents and teachers (not for staff or an
administrator), nobody across schools; teachers, pupils and parents never."""

from __future__ import annotations

import itertools
import re

import sqlalchemy as sa

from preau.actions.directory import insert_person
from preau.adapters.sql.schema import people
from preau.domain.directory import PersonDraft
from preau.domain.people import Profile
from tests.access.test_authorization_matrix import READ_PERSON, ROLES, headers_by_actor
from tests.helpers import PASSWORD, App, School, csrf_from, login

STAFF_MAY_RESET = {"teacher", "pupil", "other_pupil", "parent"}


def expected_status(actor: tuple[str, str], target: tuple[str, str]) -> int:
    (actor_school, actor_role), (target_school, target_role) = actor, target
    if actor_school != target_school:
        return 404
    if actor_role == "admin":
        return 201
    if actor_role == "staff":
        return 201 if target_role in STAFF_MAY_RESET else 403
    if actor_role == "teacher":
        return 403  # teachers see everyone of the school, and reset nobody
    return 403 if target_role in READ_PERSON[actor_role] else 404  # pupils, parents


async def test_activation_code_matrix(app: App, world: dict[str, School]) -> None:
    headers = await headers_by_actor(app)
    failures: list[str] = []
    actors = [(letter, role) for letter in "ab" for role in ROLES]
    for actor, target in itertools.product(actors, repeat=2):
        # Without ``reset`` nobody who has a password is touched: the matrix keeps every
        # account (and token) working, and still goes through the access check.
        answer = await app.client.post(
            "/api/v1/activation-codes",
            json={"person_ids": [world[target[0]].people[target[1]]]},
            headers=headers[actor],
        )
        if answer.status_code != (expected := expected_status(actor, target)):
            failures.append(f"{actor} codes for {target}: {answer.status_code} != {expected}")
    for actor in actors:
        whole_school = await app.client.post(
            "/api/v1/activation-codes", json={}, headers=headers[actor]
        )
        expected = 201 if actor[1] in ("admin", "staff") else 403
        if whole_school.status_code != expected:
            failures.append(f"{actor} whole school: {whole_school.status_code} != {expected}")
    assert not failures, "\n".join(failures)


async def test_staff_codes_for_the_school_leave_staff_and_admins_out(
    app: App, world: dict[str, School]
) -> None:
    services = app.services
    async with services.engine.begin() as connection:
        for given, profile in (("Nouveau", Profile.PUPIL), ("Nouvelle", Profile.STAFF)):
            await insert_person(
                services,
                connection,
                world["a"].id,
                PersonDraft(given_name=given, family_name="Venu", profile=profile),
            )
    headers = await headers_by_actor(app)
    by_staff = await app.client.post(
        "/api/v1/activation-codes", json={}, headers=headers[("a", "staff")]
    )
    assert [item["given_name"] for item in by_staff.json()] == ["Nouveau"]
    by_admin = await app.client.post(
        "/api/v1/activation-codes", json={}, headers=headers[("a", "admin")]
    )
    assert sorted(item["given_name"] for item in by_admin.json()) == ["Nouveau", "Nouvelle"]


async def test_the_vie_scolaire_resets_a_pupils_password_from_its_page(
    app: App, world: dict[str, School]
) -> None:
    staff = app.client_for(headers={"accept-language": "en"})
    await login(staff, "staff.a")
    page = await staff.get("/school/accounts", params={"q": "School"})
    assert page.status_code == 200
    pupil, admin = world["a"].people["pupil"], world["a"].people["admin"]
    assert f'action="/school/accounts/{pupil}/code"' in page.text
    assert f'action="/school/accounts/{admin}/code"' not in page.text  # not theirs to reset
    refused = await staff.post(
        f"/school/accounts/{admin}/code", data={"csrf_token": csrf_from(page.text)}
    )
    assert refused.status_code == 403
    other_school = await staff.post(
        f"/school/accounts/{world['b'].people['pupil']}/code",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert other_school.status_code == 404
    reset = await staff.post(
        f"/school/accounts/{pupil}/code", data={"csrf_token": csrf_from(page.text)}
    )
    assert reset.status_code == 200
    assert re.search(r'<code class="code">[A-Z0-9-]+</code>', reset.text)
    old_password = app.client_for()
    assert (await login(old_password, "pupil.a", PASSWORD)).status_code == 401
    async with app.services.engine.connect() as connection:
        cleared = (
            await connection.execute(sa.select(people.c.password_hash).where(people.c.id == pupil))
        ).scalar_one()
    assert cleared is None
    teacher = app.client_for()
    await login(teacher, "teacher.a")
    teacher_page = await teacher.get("/school/accounts")
    assert teacher_page.status_code == 200  # teachers may read the directory …
    assert "/code" not in teacher_page.text  # … and reset nobody's password
    for client in (staff, old_password, teacher):
        await client.aclose()
