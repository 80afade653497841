"""School admins manage the directory in pages and through the API; bad input gets a
clear 4xx and stores nothing."""

from __future__ import annotations

from preau.adapters.sql.schema import enrolments, groups, people
from tests.helpers import App, School, api_token, count_rows, csrf_from, login


async def test_admin_creates_searches_edits_and_deactivates_in_pages(
    app: App, world: dict[str, School]
) -> None:
    await login(app.client, "admin.a")
    form = await app.client.get("/admin/people/new")
    created = await app.client.post(
        "/admin/people/new",
        data={
            "given_name": "Zoé",
            "family_name": "Lefèvre-Dupont",
            "profile": "pupil",
            "username": "",
            "email": "",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert created.status_code in (302, 303), created.text
    detail = await app.client.get(created.headers["location"])
    assert "zoe.lefevre-dupont" in detail.text
    found = await app.client.get("/admin/people", params={"q": "lefèvre"})
    assert "Zoé" in found.text
    assert "Pupil School" not in found.text
    person_path = created.headers["location"].split("?")[0]
    edited = await app.client.post(
        person_path,
        data={
            "given_name": "Zoé",
            "family_name": "Lefèvre",
            "profile": "pupil",
            "email": "zoe@example.org",
            "csrf_token": csrf_from(detail.text),
        },
    )
    assert edited.status_code in (302, 303)
    off = await app.client.post(
        person_path + "/active", data={"active": "0", "csrf_token": csrf_from(detail.text)}
    )
    assert off.status_code in (302, 303)
    listing = await app.client.get("/admin/people", params={"q": "lefèvre"})
    assert "Zoé" not in listing.text
    assert (
        "Zoé"
        in (await app.client.get("/admin/people", params={"q": "lefèvre", "inactive": "true"})).text
    )


async def test_bad_person_input_is_refused_and_nothing_is_stored(
    app: App, world: dict[str, School]
) -> None:
    token = await api_token(app.client, "admin.a")
    headers = {"authorization": f"Bearer {token}", "accept-language": "en"}
    before = await count_rows(app.services, people)
    cases = [
        ({"given_name": "", "family_name": "X", "profile": "pupil"}, 400, "empty"),
        ({"given_name": "A" * 101, "family_name": "X", "profile": "pupil"}, 400, "100"),
        ({"given_name": "A\x00b", "family_name": "X", "profile": "pupil"}, 400, "control"),
        ({"given_name": "A", "family_name": "X", "profile": "wizard"}, 400, "profile"),
        (
            {"given_name": "A", "family_name": "X", "profile": "pupil", "username": "Bad Name!"},
            400,
            "username",
        ),
        (
            {"given_name": "A", "family_name": "X", "profile": "pupil", "email": "not-an-email"},
            400,
            "email",
        ),
        (
            {"given_name": "A", "family_name": "X", "profile": "pupil", "username": "teacher.a"},
            409,
            "taken",
        ),
        (
            {"given_name": "A", "family_name": "X", "profile": "pupil", "school_id": 2},
            400,
            "school_id",
        ),
    ]
    for body, status, hint in cases:
        response = await app.client.post("/api/v1/people", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert hint in response.json()["detail"].lower() or hint in str(response.json()).lower(), (
            response.text
        )
    broken = await app.client.post(
        "/api/v1/people",
        content=b"{not json",
        headers={**headers, "content-type": "application/json"},
    )
    assert broken.status_code == 400
    assert await count_rows(app.services, people) == before


async def test_french_error_sentences_in_the_api(app: App, world: dict[str, School]) -> None:
    token = await api_token(app.client, "admin.a")
    response = await app.client.post(
        "/api/v1/people",
        json={"given_name": " ", "family_name": "X", "profile": "pupil"},
        headers={"authorization": f"Bearer {token}", "accept-language": "fr"},
    )
    assert response.json()["detail"] == "Ce nom est vide : merci de le remplir."
    assert response.json()["field"] == "given_name"


async def test_paging_and_search_in_the_api(app: App, world: dict[str, School]) -> None:
    token = await api_token(app.client, "admin.a")
    headers = {"authorization": f"Bearer {token}"}
    for number in range(12):
        response = await app.client.post(
            "/api/v1/people",
            headers=headers,
            json={"given_name": f"Élève{number:02d}", "family_name": "Martin", "profile": "pupil"},
        )
        assert response.status_code == 201
    page1 = (
        await app.client.get(
            "/api/v1/people", params={"q": "martin", "page_size": 5}, headers=headers
        )
    ).json()
    page3 = (
        await app.client.get(
            "/api/v1/people", params={"q": "martin", "page_size": 5, "page": 3}, headers=headers
        )
    ).json()
    assert page1["total"] == page3["total"] == 12
    assert len(page1["items"]) == 5
    assert len(page3["items"]) == 2
    names = [p["given_name"] for p in page1["items"]]
    assert names == sorted(names)
    assert (
        await app.client.get("/api/v1/people", params={"page_size": 500}, headers=headers)
    ).status_code == 400
    pupils = (
        await app.client.get("/api/v1/people", params={"profile": "teacher"}, headers=headers)
    ).json()
    assert [p["username"] for p in pupils["items"]] == ["teacher.a"]


async def test_groups_members_and_parent_links(app: App, world: dict[str, School]) -> None:
    token = await api_token(app.client, "admin.a")
    headers = {"authorization": f"Bearer {token}"}
    group = await app.client.post(
        "/api/v1/groups",
        headers=headers,
        json={"name": "Espagnol LV2", "kind": "group", "subject": "Espagnol"},
    )
    assert group.status_code == 201
    group_id = group.json()["id"]
    school = world["a"]
    assert (
        await app.client.post(
            f"/api/v1/groups/{group_id}/members",
            headers=headers,
            json={"person_id": school.people["pupil"]},
        )
    ).status_code == 204
    again = await app.client.post(
        f"/api/v1/groups/{group_id}/members",
        headers=headers,
        json={"person_id": school.people["pupil"]},
    )
    assert again.status_code == 409
    wrong_role = await app.client.post(
        f"/api/v1/groups/{group_id}/members",
        headers=headers,
        json={"person_id": school.people["parent"]},
    )
    assert wrong_role.status_code == 400
    teacher = await app.client.post(
        f"/api/v1/groups/{group_id}/members",
        headers=headers,
        json={"person_id": school.people["teacher"], "role": "teacher"},
    )
    assert teacher.status_code == 204
    detail = (await app.client.get(f"/api/v1/groups/{group_id}", headers=headers)).json()
    assert {m["person_id"] for m in detail["members"]} == {
        school.people["pupil"],
        school.people["teacher"],
    }
    assert detail["members"][0]["subject"] == "Espagnol"
    link = await app.client.post(
        "/api/v1/parent-links",
        headers=headers,
        json={"parent_id": school.people["parent"], "child_id": school.people["other_pupil"]},
    )
    assert link.status_code == 204
    children = (
        await app.client.get(f"/api/v1/people/{school.people['parent']}/relatives", headers=headers)
    ).json()
    assert {c["id"] for c in children} == {school.people["pupil"], school.people["other_pupil"]}
    assert (await count_rows(app.services, groups)) == 5
    assert (await count_rows(app.services, enrolments)) == 8


async def test_admin_cannot_lock_themselves_out(app: App, world: dict[str, School]) -> None:
    token = await api_token(app.client, "admin.a")
    response = await app.client.patch(
        f"/api/v1/people/{world['a'].people['admin']}",
        headers={"authorization": f"Bearer {token}"},
        json={"active": False},
    )
    assert response.status_code == 400


async def test_activation_codes_page_prints_codes_for_a_class(
    app: App, world: dict[str, School]
) -> None:
    await login(app.client, "admin.a")
    page = await app.client.get("/admin/codes")
    # Everyone in the world fixture has a password, so nobody needs a code yet.
    done = await app.client.post(
        "/admin/codes",
        data={"group_id": str(world["a"].class_id), "csrf_token": csrf_from(page.text)},
    )
    assert done.status_code == 200
    assert "Tout le monde a déjà activé son compte." in done.text
