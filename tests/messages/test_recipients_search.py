"""The recipients picker's search (``/api/v1/contacts?q=``), through HTTP on both
databases: classes and groups are narrowed by name as people are; a pupil's search never
offers a pupil outside their class, nor anyone of another school; the query is bounded."""

from __future__ import annotations

from preau.actions.messages.recipients import CONTACTS_SHOWN
from tests.helpers import App, School
from tests.messages.support import headers_for


async def test_the_search_narrows_groups_and_stays_within_what_may_be_written_to(
    app: App, world: dict[str, School]
) -> None:
    teacher = await headers_for(app, "teacher.a")
    found = (
        await app.client.get("/api/v1/contacts", params={"q": "other"}, headers=teacher)
    ).json()
    assert [group["name"] for group in found["groups"]] == ["other_class a"]
    assert [person["name"] for person in found["people"]] == ["Other Pupil SchoolA"]
    everything = (await app.client.get("/api/v1/contacts", headers=teacher)).json()
    assert {group["name"] for group in everything["groups"]} == {"class a", "other_class a"}
    assert len(everything["people"]) <= CONTACTS_SHOWN

    pupil = await headers_for(app, "pupil.a")
    offered = (
        await app.client.get("/api/v1/contacts", params={"q": "pupil"}, headers=pupil)
    ).json()
    names = [p["name"] for p in offered["people"] + offered["classmates"]]
    assert names == []  # the other pupil is in another class; groups are not offered
    assert offered["groups"] == []
    teachers = (
        await app.client.get("/api/v1/contacts", params={"q": "school"}, headers=pupil)
    ).json()
    assert all(p["name"].endswith("SchoolA") for p in teachers["people"])
    assert "Teacher SchoolA" in [p["name"] for p in teachers["people"]]

    too_long = await app.client.get("/api/v1/contacts", params={"q": "x" * 101}, headers=teacher)
    assert too_long.status_code == 400
