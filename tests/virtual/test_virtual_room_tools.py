"""Inside a virtual class, through HTTP on each database: the chat (public, to the
teacher, deleted, muted, bounded, rate-limited, kept), polls (asked, answered once and
replaced, results hidden then shown, refused to those not in the room), the whiteboard
(drawn, refused when too big or not allowed, kept for late comers, cleared, exported as a
PNG attachment), breakout groups and their return, and each stay in the room."""

from __future__ import annotations

import zlib
from struct import pack
from typing import Any

import httpx
import pytest

from preau.domain.virtual_room import CHAT_MAX_CHARACTERS, CHAT_PER_MINUTE, STROKE_MAX_POINTS
from tests.helpers import App, School, api_token, enrol_in_class
from tests.virtual.janus_nodes import JanusProcess
from tests.virtual.room_stream import open_room_stream
from tests.virtual.test_virtual_janus import bearer


def tiny_png() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))

    header = pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def tiny_pdf() -> bytes:
    """A real one-page PDF (a blue rectangle), its cross-reference table computed."""
    stream = b"0 0 1 rg 20 20 160 60 re f"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    return out + b"startxref\n%d\n%%%%EOF\n" % table


async def open_class(app: App, school: School) -> tuple[str, httpx.AsyncClient, httpx.AsyncClient]:
    """A class started by the teacher, the teacher and the class's pupil seated."""
    teacher = await bearer(app, "teacher.a")
    pupil = await bearer(app, "pupil.a")
    started = await teacher.post(
        "/api/v1/virtual/rooms", json={"group_id": school.class_id, "minutes": 30}
    )
    assert started.status_code == 201, started.text
    room = f"/api/v1/virtual/rooms/{started.json()['id']}"
    for client in (teacher, pupil):
        assert (await client.post(f"{room}/join")).status_code == 200
    return room, teacher, pupil


async def test_chat_public_private_deleted_muted_and_kept(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    school = world["a"]
    room, teacher, pupil = await open_class(app, school)
    other = await bearer(app, "other-pupil.a")  # a pupil of another class
    stranger = await bearer(app, "pupil.b")  # a pupil of another school

    said = await pupil.post(f"{room}/chat", json={"body": "  Bonjour !  "})
    assert said.status_code == 201, said.text
    assert said.json()["body"] == "Bonjour !"
    private = await pupil.post(
        f"{room}/chat", json={"body": "Je ne comprends pas", "to_teacher": True}
    )
    assert private.json()["to_teacher"] is True
    await teacher.post(f"{room}/chat", json={"body": "Ouvrez le livre p. 12"})

    def bodies(listed: httpx.Response) -> list[str]:
        return [item["body"] for item in listed.json()]

    assert bodies(await teacher.get(f"{room}/chat")) == [
        "Bonjour !",
        "Je ne comprends pas",
        "Ouvrez le livre p. 12",
    ]
    assert bodies(await pupil.get(f"{room}/chat")) == bodies(await teacher.get(f"{room}/chat"))
    for outsider in (other, stranger):
        assert (await outsider.get(f"{room}/chat")).status_code == 404
        assert (await outsider.post(f"{room}/chat", json={"body": "x"})).status_code == 404

    # Bad input: a sentence, nothing written.
    too_long = await pupil.post(f"{room}/chat", json={"body": "a" * (CHAT_MAX_CHARACTERS + 1)})
    assert too_long.status_code == 400
    assert str(CHAT_MAX_CHARACTERS) in too_long.json()["detail"]
    assert (await pupil.post(f"{room}/chat", json={"body": "   "})).status_code == 400
    assert (await pupil.post(f"{room}/chat", json={"body": "a\x00b"})).status_code == 400
    assert len((await teacher.get(f"{room}/chat")).json()) == 3

    # A retry with the same Idempotency-Key does not post twice.
    for _ in range(2):
        again = await pupil.post(
            f"{room}/chat", json={"body": "Une fois"}, headers={"idempotency-key": "chat-once-1"}
        )
        assert again.status_code == 201
    assert bodies(await teacher.get(f"{room}/chat")).count("Une fois") == 1

    # The teacher deletes; a pupil cannot.
    message_id = said.json()["id"]
    assert (await pupil.delete(f"{room}/chat/{message_id}")).status_code == 403
    assert (await teacher.delete(f"{room}/chat/{message_id}")).status_code == 204
    assert (await teacher.delete(f"{room}/chat/{message_id}")).status_code == 404
    first = (await pupil.get(f"{room}/chat")).json()[0]
    assert first["deleted"] is True
    assert first["body"] == ""

    # Muted: refused with a sentence, then allowed again.
    pupil_id = school.people["pupil"]
    assert (
        await pupil.post(f"{room}/mute", json={"person_id": pupil_id, "muted": True})
    ).status_code == 403
    assert (
        await teacher.post(f"{room}/mute", json={"person_id": pupil_id, "muted": True})
    ).status_code == 204
    muted = await pupil.post(f"{room}/chat", json={"body": "Encore"})
    assert muted.status_code == 403
    assert muted.json()["detail"]
    await teacher.post(f"{room}/mute", json={"person_id": pupil_id, "muted": False})
    assert (await pupil.post(f"{room}/chat", json={"body": "Encore"})).status_code == 201


async def test_chat_is_rate_limited_per_person(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    room, teacher, pupil = await open_class(app, world["a"])
    codes = [
        (await pupil.post(f"{room}/chat", json={"body": f"n°{number}"})).status_code
        for number in range(CHAT_PER_MINUTE + 1)
    ]
    assert codes == [201] * CHAT_PER_MINUTE + [429]
    refused = await pupil.post(f"{room}/chat", json={"body": "encore"})
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"
    assert (await teacher.post(f"{room}/chat", json={"body": "moi"})).status_code == 201


async def test_polls_answered_once_shown_when_chosen_and_refused_outside(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    school = world["a"]
    room, teacher, pupil = await open_class(app, school)
    for bad in (
        {"question": "Q ?", "choices": ["seule"]},
        {"question": "Q ?", "choices": ["a", "b", "c", "d", "e", "f", "g"]},
        {"question": "Q ?", "choices": ["Oui", "oui"]},
        {"question": " ", "choices": ["a", "b"]},
    ):
        refused = await teacher.post(f"{room}/polls", json=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["detail"]
    assert (
        await pupil.post(f"{room}/polls", json={"question": "Q", "choices": ["a", "b"]})
    ).status_code == 403
    assert (await teacher.get(f"{room}/poll")).json() is None

    asked = await teacher.post(
        f"{room}/polls", json={"question": "Combien font 2 + 2 ?", "choices": ["3", "4", "5"]}
    )
    assert asked.status_code == 201, asked.text
    poll = asked.json()["id"]
    answer = f"{room}/polls/{poll}/answer"

    # Not in the room: another school's pupil does not see it; a class pupil who never
    # joined, and the teacher, may not answer.
    stranger = await bearer(app, "pupil.b")
    assert (await stranger.post(answer, json={"choice": 1})).status_code == 404
    await enrol_in_class(app.services, school, "other_pupil")
    absent = await bearer(app, "other-pupil.a")
    not_here = await absent.post(answer, json={"choice": 1})
    assert not_here.status_code == 403
    assert "entrez d’abord dans la classe" in not_here.json()["detail"]
    assert (await teacher.post(answer, json={"choice": 1})).status_code == 403
    assert (await pupil.post(answer, json={"choice": 7})).status_code == 400

    first = await pupil.post(answer, json={"choice": 0})
    assert first.status_code == 200
    assert first.json()["my_choice"] == 0
    assert first.json()["counts"] is None
    changed = await pupil.post(answer, json={"choice": 1})
    assert changed.json()["my_choice"] == 1
    assert (await teacher.get(f"{room}/poll")).json()["counts"] == [0, 1, 0]
    assert (await pupil.get(f"{room}/poll")).json()["counts"] is None

    shown = await teacher.post(f"{room}/polls/{poll}/results", json={"shown": True, "close": True})
    assert shown.json()["counts"] == [0, 1, 0]
    seen = (await pupil.get(f"{room}/poll")).json()
    assert seen["counts"] == [0, 1, 0]
    assert seen["my_choice"] == 1
    assert seen["closed"] is True
    assert (await pupil.post(answer, json={"choice": 2})).status_code == 409


def stroke(**overrides: Any) -> dict[str, Any]:
    return {
        "tool": "pen",
        "colour": "#1a2b3c",
        "width": 3,
        "points": [[0.1, 0.1], [0.2, 0.3]],
        **overrides,
    }


async def test_whiteboard_drawn_bounded_kept_cleared_and_exported(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    room, teacher, pupil = await open_class(app, world["a"])
    board = f"{room}/board"
    drawn = await teacher.post(f"{board}/strokes", json=stroke())
    assert drawn.status_code == 201, drawn.text
    await teacher.post(
        f"{board}/strokes", json=stroke(tool="text", text="x = 2", points=[[0.5, 0.5]])
    )
    for bad in (
        stroke(points=[[0.1, 0.1]] * (STROKE_MAX_POINTS + 1)),
        stroke(points=[[1.5, 0.1]]),
        stroke(tool="spray"),
        stroke(colour="red"),
        stroke(width=400),
        stroke(tool="rect", points=[[0.1, 0.1]]),
        stroke(tool="text", text="", points=[[0.5, 0.5]]),
    ):
        refused = await teacher.post(f"{board}/strokes", json=bad)
        assert refused.status_code == 400, bad
        assert refused.json()["detail"]
    refused = await pupil.post(f"{board}/strokes", json=stroke())
    assert refused.status_code == 403
    assert refused.json()["detail"]
    assert (await teacher.post(f"{board}/drawers", json={"pupils_draw": True})).status_code == 204
    assert (await pupil.post(f"{board}/strokes", json=stroke(tool="eraser"))).status_code == 201

    late = (await pupil.get(board)).json()  # a late comer gets the board as it is
    assert [item["stroke"]["tool"] for item in late["strokes"]] == ["pen", "text", "eraser"]
    assert late["may_draw"] is True
    assert late["strokes"][1]["stroke"]["text"] == "x = 2"

    assert (await pupil.delete(f"{board}/strokes")).status_code == 403
    assert (await teacher.delete(f"{board}/strokes")).status_code == 204
    assert (await pupil.get(board)).json()["strokes"] == []

    png = tiny_png()
    not_png = await teacher.post(f"{board}/exports", content=b"GIF89a" + b"\x00" * 20)
    assert not_png.status_code == 400
    assert not_png.json()["detail"]
    assert (await pupil.post(f"{board}/exports", content=png)).status_code == 403
    kept = await teacher.post(
        f"{board}/exports", content=png, headers={"idempotency-key": "board-export-1"}
    )
    again = await teacher.post(
        f"{board}/exports", content=png, headers={"idempotency-key": "board-export-1"}
    )
    assert kept.status_code == 201
    assert again.json() == kept.json()
    assert len((await pupil.get(f"{board}/exports")).json()) == 1
    room_id = room.rsplit("/", 1)[1]
    download = await pupil.get(f"/virtual/rooms/{room_id}/board/exports/{kept.json()['id']}")
    assert download.status_code == 200
    assert download.content == png
    assert download.headers["content-disposition"].startswith("attachment")
    stranger = await bearer(app, "pupil.b")
    assert (
        await stranger.get(f"/virtual/rooms/{room_id}/board/exports/{kept.json()['id']}")
    ).status_code == 404


async def test_the_board_background_is_a_picture_or_a_pdf_page(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    room, teacher, pupil = await open_class(app, world["a"])
    board = f"{room}/board"
    room_id = room.rsplit("/", 1)[1]
    png = tiny_png()
    assert (await teacher.post(f"{board}/background", content=b"%PDF-1.4")).status_code == 400
    assert (await teacher.post(f"{board}/background", content=b"<svg/>")).status_code == 400
    missing_page = await teacher.post(f"{board}/background?page=2", content=tiny_pdf())
    assert missing_page.status_code == 400
    assert "2" in missing_page.json()["detail"]
    assert (await teacher.post(f"{board}/background", content=tiny_pdf())).status_code == 204
    from_pdf = await pupil.get(f"/virtual/rooms/{room_id}/board/background")
    assert from_pdf.status_code == 200
    assert from_pdf.headers["content-type"] == "image/png"
    assert from_pdf.content.startswith(b"\x89PNG")
    assert (await teacher.post(f"{board}/background", content=png)).status_code == 204
    assert (await pupil.get(board)).json()["background"] is True
    picture = await pupil.get(f"/virtual/rooms/{room_id}/board/background")
    assert picture.status_code == 200
    assert picture.content == png


@pytest.mark.parametrize("how", ["random", "chosen"])
async def test_breakout_groups_and_everyone_back(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess], how: str
) -> None:
    school = world["a"]
    await enrol_in_class(app.services, school, "other_pupil")
    room, teacher, pupil = await open_class(app, school)
    second = await bearer(app, "other-pupil.a")
    assert (await second.post(f"{room}/join")).status_code == 200
    first_id, second_id = school.people["pupil"], school.people["other_pupil"]

    assert (await pupil.post(f"{room}/breakouts", json={"groups": 2})).status_code == 403
    assert (await teacher.post(f"{room}/breakouts", json={"groups": 3})).status_code == 400
    assert (
        await teacher.post(f"{room}/breakouts", json={"chosen": {str(first_id): 1}})
    ).status_code == 400
    body: dict[str, Any] = (
        {"groups": 2} if how == "random" else {"chosen": {str(first_id): 1, str(second_id): 2}}
    )
    split = await teacher.post(f"{room}/breakouts", json=body)
    assert split.status_code == 201, split.text
    groups = split.json()["groups"]
    assert sorted(member for group in groups for member in group["members"]) == sorted(
        [first_id, second_id]
    )
    assert (await teacher.post(f"{room}/breakouts", json={"groups": 2})).status_code == 409
    mine = (await pupil.get(f"{room}/breakouts")).json()
    assert mine["groups"] == []
    assert mine["mine"] in {group["room_id"] for group in groups}
    if how == "chosen":
        assert mine["mine"] == groups[0]["room_id"]
        # Another group's room is not theirs: not found, not joinable.
        other_group = f"/api/v1/virtual/rooms/{groups[1]['room_id']}"
        assert (await pupil.post(f"{other_group}/join")).status_code == 404
        assert (await pupil.get(f"{other_group}/chat")).status_code == 404
    # The group's room is a room like any other: placed on a node, joined with tokens.
    grant = await pupil.post(f"/api/v1/virtual/rooms/{mine['mine']}/join")
    assert grant.status_code == 200, grant.text
    visit = await teacher.post(f"/api/v1/virtual/rooms/{groups[1]['room_id']}/join")
    assert visit.status_code == 200
    listed = {item["id"] for item in (await pupil.get("/api/v1/virtual/rooms")).json()}
    assert mine["mine"] not in listed  # opened from the class page, not listed

    assert (await pupil.delete(f"{room}/breakouts")).status_code == 403
    assert (await teacher.delete(f"{room}/breakouts")).status_code == 204
    assert (await pupil.get(f"{room}/breakouts")).json()["mine"] is None
    assert (await teacher.delete(f"{room}/breakouts")).status_code == 409
    over = await pupil.post(f"/api/v1/virtual/rooms/{mine['mine']}/join")
    assert over.status_code == 409


async def test_the_live_stream_carries_the_room_and_counts_each_stay(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    school = world["a"]
    room, teacher, pupil = await open_class(app, school)
    room_id = int(room.rsplit("/", 1)[1])
    pupil_token = await api_token(app.client_for(), "pupil.a")
    stranger_token = await api_token(app.client_for(), "pupil.b")
    async with open_room_stream(app, stranger_token, room_id) as refused:
        assert refused.status == 404
    async with open_room_stream(app, pupil_token, room_id) as stream:
        assert stream.status == 200
        assert await stream.until("hello") == {"role": "pupil"}
        await teacher.post(f"{room}/chat", json={"body": "Bienvenue"})
        assert (await stream.until("chat"))["body"] == "Bienvenue"
        await teacher.post(f"{room}/chat", json={"body": "privé"}, headers={})
        await teacher.post(f"{room}/polls", json={"question": "Prêts ?", "choices": ["Oui", "Non"]})
        poll = await stream.until("poll")
        assert poll["question"] == "Prêts ?"
        assert poll["counts"] is None
        await teacher.post(f"{room}/board/strokes", json=stroke())
        assert (await stream.until("stroke"))["stroke"]["tool"] == "pen"
        lines = {line["person_id"]: line for line in (await teacher.get(f"{room}/presence")).json()}
        assert lines[school.people["pupil"]]["last_left_at"] is None
    lines = {line["person_id"]: line for line in (await teacher.get(f"{room}/presence")).json()}
    stay = lines[school.people["pupil"]]
    assert len(stay["stays"]) == 1
    assert stay["stays"][0]["left_at"] is not None
    assert stay["last_left_at"] == stay["stays"][0]["left_at"]
    assert lines[school.people["teacher"]]["stays"] == []
    assert (await pupil.get(f"{room}/presence")).status_code == 403
