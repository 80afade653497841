"""Announcements through HTTP: who may post where, recipients (pupils, optionally their
parents), read receipts and who has not read yet, bad input that stores nothing."""

from __future__ import annotations

import pytest

from tests.helpers import App, School, csrf_from, login
from tests.messages.support import headers_for, table_counts


async def announce(app: App, headers: dict[str, str], **draft: object) -> int:
    body = {"title": "Sortie au musée", "body": "Rendez-vous à 8 h devant le collège.", **draft}
    response = await app.client.post("/api/v1/announcements", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


async def test_a_class_and_its_parents_receive_and_the_author_sees_who_read(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    teacher = await headers_for(app, "teacher.a")
    pupil = await headers_for(app, "pupil.a")
    parent = await headers_for(app, "parent.a")
    announcement_id = await announce(
        app, teacher, group_ids=[school.class_id], include_parents=True
    )
    for headers in (pupil, parent):
        assert (await app.client.get("/api/v1/unread", headers=headers)).json()[
            "announcements"
        ] == 1
        received = (await app.client.get("/api/v1/announcements", headers=headers)).json()
        assert [(item["id"], item["read_at"]) for item in received["items"]] == [
            (announcement_id, None)
        ]
    other = await headers_for(app, "other-pupil.a")
    assert (await app.client.get("/api/v1/announcements", headers=other)).json()["total"] == 0

    receipts = (
        await app.client.get(f"/api/v1/announcements/{announcement_id}/receipts", headers=teacher)
    ).json()
    assert (receipts["total"], receipts["read"]) == (2, 0)
    assert {(r["person"]["name"], r["as_parent"]) for r in receipts["not_read"]} == {
        ("Pupil SchoolA", False),
        ("Parent SchoolA", True),
    }
    read = await app.client.post(f"/api/v1/announcements/{announcement_id}/read", headers=pupil)
    assert read.status_code == 204
    again = await app.client.post(f"/api/v1/announcements/{announcement_id}/read", headers=pupil)
    assert again.status_code == 204  # the first reading stays the receipt
    receipts = (
        await app.client.get(f"/api/v1/announcements/{announcement_id}/receipts", headers=teacher)
    ).json()
    assert [r["person"]["name"] for r in receipts["read_by"]] == ["Pupil SchoolA"]
    assert [r["person"]["name"] for r in receipts["not_read"]] == ["Parent SchoolA"]
    assert (await app.client.get("/api/v1/unread", headers=pupil)).json()["announcements"] == 0
    sent = (await app.client.get("/api/v1/announcements?sent=true", headers=teacher)).json()
    assert [(i["recipient_count"], i["read_count"]) for i in sent["items"]] == [(2, 1)]
    assert [g["name"] for g in sent["items"][0]["groups"]] == ["class a"]
    # Recipients do not see the receipts.
    refused = await app.client.get(
        f"/api/v1/announcements/{announcement_id}/receipts", headers=parent
    )
    assert refused.status_code == 403


async def test_who_may_post_where(app: App, world: dict[str, School]) -> None:
    school = world["a"]
    teacher = await headers_for(app, "teacher.a")
    before = await table_counts(app)
    not_taught = await app.client.post(
        "/api/v1/announcements",
        json={"title": "t", "body": "b", "group_ids": [school.other_class_id]},
        headers=teacher,
    )
    assert not_taught.status_code == 403
    for username in ("pupil.a", "parent.a"):
        refused = await app.client.post(
            "/api/v1/announcements",
            json={"title": "t", "body": "b", "group_ids": [school.class_id]},
            headers=await headers_for(app, username),
        )
        assert refused.status_code == 403
    assert await table_counts(app) == before
    # Staff post to any class of their school.
    staff = await headers_for(app, "staff.a")
    await announce(app, staff, group_ids=[school.class_id, school.other_class_id])
    other = await headers_for(app, "other-pupil.a")
    assert (await app.client.get("/api/v1/unread", headers=other)).json()["announcements"] == 1


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        ({"title": ""}, "title"),
        ({"body": ""}, "body"),
        ({"body": "z" * 10_001}, "body"),
        ({"body": "<script>document.cookie</script>"}, "body"),
        ({"title": "<iframe src=//x>"}, "title"),
        ({"group_ids": []}, "group_ids"),
        ({"group_ids": [999_999]}, "group_ids"),
    ],
)
async def test_bad_announcements_store_nothing(
    app: App, world: dict[str, School], draft: dict[str, object], field: str
) -> None:
    teacher = await headers_for(app, "teacher.a")
    body = {"title": "Titre", "body": "Texte", "group_ids": [world["a"].class_id], **draft}
    before = await table_counts(app)
    response = await app.client.post("/api/v1/announcements", json=body, headers=teacher)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
    assert await table_counts(app) == before


async def test_a_class_of_another_school_is_refused(app: App, world: dict[str, School]) -> None:
    staff = await headers_for(app, "staff.a")
    before = await table_counts(app)
    response = await app.client.post(
        "/api/v1/announcements",
        json={"title": "t", "body": "b", "group_ids": [world["b"].class_id]},
        headers=staff,
    )
    assert response.status_code == 400
    assert "pas dans votre établissement" in response.json()["detail"]
    assert await table_counts(app) == before


async def test_pages_post_and_show_receipts(app: App, world: dict[str, School]) -> None:
    school = world["a"]
    await login(app.client, "teacher.a")
    form = await app.client.get("/announcements/new")
    assert form.status_code == 200
    posted = await app.client.post(
        "/announcements/new",
        data={
            "csrf_token": csrf_from(form.text),
            "title": "Conseil de classe",
            "body": "Le conseil a lieu mardi.",
            "group_ids": str(school.class_id),
            "include_parents": "1",
        },
    )
    assert posted.status_code == 302
    page = await app.client.get(posted.headers["location"])
    assert "Lue par 0 sur 2" in page.text
    assert "Parent SchoolA (responsable)" in page.text
    empty = await app.client.post(
        "/announcements/new",
        data={"csrf_token": csrf_from(form.text), "title": "", "body": "x", "group_ids": ""},
    )
    assert empty.status_code == 400
    assert 'role="alert"' in empty.text
