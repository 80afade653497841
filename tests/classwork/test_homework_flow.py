"""The whole story through the API, as the issue tells it: a teacher posts homework with
a PDF; the pupil downloads it, turns in text and a file, takes it back and turns it in
again; the teacher returns it with feedback and a mark; the pupil and a parent see it."""

from __future__ import annotations

from typing import Any

from tests.classwork.conftest import PDF, PNG, Api, Clock, post_homework
from tests.helpers import App, School


async def upload(api: Api, name: str, data: bytes) -> dict[str, Any]:
    response = await api.post(
        "/api/v1/files", files={"file": (name, data, "application/octet-stream")}
    )
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_post_turn_in_take_back_return(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    parent: Api = await as_user("parent.a")
    pdf = await upload(teacher, "Fiche d'exercices.pdf", PDF)
    assert pdf["content_type"] == "application/pdf"
    work = await post_homework(teacher, world["a"], clock, attachment_ids=[pdf["id"]])
    assert [a["name"] for a in work["attachments"]] == ["Fiche d'exercices.pdf"]

    todo = (await pupil.get("/api/v1/todo")).json()
    items = [item for day in todo["days"] for item in day["items"]]
    assert [(i["title"], i["state"], i["attachment_count"]) for i in items] == [
        ("Exercices page 42", "assigned", 1)
    ]
    seen = (await pupil.get(f"/api/v1/homework/{work['id']}")).json()
    downloaded = await pupil.get(seen["attachments"][0]["url"])
    assert downloaded.status_code == 200
    assert downloaded.content == PDF
    assert downloaded.headers["content-type"] == "application/pdf"
    assert downloaded.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''Fiche%20d%27exercices.pdf" in downloaded.headers["content-disposition"]
    assert downloaded.headers["x-content-type-options"] == "nosniff"

    photo = await upload(pupil, "ma copie.png", PNG)
    turned = await pupil.post(
        f"/api/v1/homework/{work['id']}/turn-in",
        json={"text": "Mes réponses", "file_ids": [photo["id"]], "idempotency_key": "key-0001"},
    )
    assert turned.status_code == 200, turned.text
    assert (turned.json()["state"], turned.json()["late"]) == ("turned_in", False)
    back = await pupil.post(f"/api/v1/homework/{work['id']}/take-back")
    assert back.json()["state"] == "assigned"
    again = await pupil.post(
        f"/api/v1/homework/{work['id']}/turn-in",
        json={"text": "Mes réponses corrigées", "idempotency_key": "key-0002"},
    )
    assert again.json()["state"] == "turned_in"
    assert [f["name"] for f in again.json()["files"]] == ["ma copie.png"]

    pupil_id = world["a"].people["pupil"]
    listing = (await teacher.get(f"/api/v1/homework/{work['id']}/hand-ins")).json()
    assert [(h["pupil_id"], h["state"]) for h in listing] == [(pupil_id, "turned_in")]
    returned = await teacher.post(
        f"/api/v1/homework/{work['id']}/hand-ins/{pupil_id}/return",
        json={"feedback": "Très bien, attention à la question 3.", "mark": 16.5, "mark_out_of": 20},
    )
    assert returned.status_code == 200, returned.text

    for reader in (pupil, parent):
        hand_in = (await reader.get(f"/api/v1/homework/{work['id']}/hand-ins/{pupil_id}")).json()
        assert (hand_in["state"], hand_in["feedback"], hand_in["mark"]) == (
            "returned",
            "Très bien, attention à la question 3.",
            16.5,
        )
        assert [e["to_state"] for e in hand_in["events"]] == [
            "turned_in", "assigned", "turned_in", "returned",
        ]  # fmt: skip
    child_todo = (await parent.get(f"/api/v1/pupils/{pupil_id}/todo")).json()
    assert child_todo["days"][0]["items"][0]["returned"] is True
    assert child_todo["days"][0]["items"][0]["mark"] == 16.5
    # The parent only reads.
    refused = await parent.post(f"/api/v1/homework/{work['id']}/turn-in", json={"text": "x"})
    assert refused.status_code == 404


async def test_attachments_keep_the_teachers_order_through_edit_and_copy(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    first, second, third = [
        (await upload(teacher, name, PDF))["id"] for name in ("c.pdf", "a.pdf", "b.pdf")
    ]
    work = await post_homework(teacher, world["a"], clock, attachment_ids=[first, second])
    assert [a["name"] for a in work["attachments"]] == ["c.pdf", "a.pdf"]
    edited = await teacher.patch(
        f"/api/v1/homework/{work['id']}", json={"attachment_ids": [first, third]}
    )
    assert edited.status_code == 200, edited.text
    assert [a["name"] for a in edited.json()["attachments"]] == ["c.pdf", "b.pdf"]
    copied = await teacher.post(
        f"/api/v1/homework/{work['id']}/copy", json={"group_id": world["a"].class_id}
    )
    assert copied.status_code == 201, copied.text
    assert copied.json()["id"] != work["id"]
    assert [a["name"] for a in copied.json()["attachments"]] == ["c.pdf", "b.pdf"]
