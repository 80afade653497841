"""Files attached to messages, through the files port and its limits: only the
conversation's people download them, a refused message leaves no bytes behind."""

from __future__ import annotations

import base64
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.helpers import (
    PASSWORD,
    App,
    School,
    build_world,
    csrf_from,
    login,
    make_settings,
    running_app,
)
from tests.messages.support import headers_for, table_counts

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def filed(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> AsyncIterator[tuple[App, dict[str, School], Path]]:
    files = tmp_path / "files"
    settings = make_settings(database_url, files_dir=files, files_max_upload_mb=1)
    async with running_app(settings) as app:
        world = await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        yield app, world, files


def stored_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


def attachment(name: str, data: bytes) -> dict[str, str]:
    return {"name": name, "data": base64.b64encode(data).decode()}


async def test_the_people_of_the_conversation_download_attachments(
    filed: tuple[App, dict[str, School], Path],
) -> None:
    app, world, _files = filed
    teacher = await headers_for(app, "teacher.a")
    created = await app.client.post(
        "/api/v1/conversations",
        json={
            "subject": "Schéma",
            "body": "Voici le schéma.",
            "person_ids": [world["a"].people["pupil"]],
            "attachments": [attachment("schéma.png", PNG)],
        },
        headers=teacher,
    )
    assert created.status_code == 201, created.text
    pupil = await headers_for(app, "pupil.a")
    thread = (
        await app.client.get(f"/api/v1/conversations/{created.json()['id']}", headers=pupil)
    ).json()
    [file] = thread["messages"][0]["attachments"]
    assert (file["name"], file["content_type"], file["size"]) == ("schéma.png", "image/png", 72)
    download = await app.client.get(f"/api/v1/message-attachments/{file['id']}", headers=pupil)
    assert download.status_code == 200
    assert download.content == PNG
    assert download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "sandbox" in download.headers["content-security-policy"]
    for username in ("other-pupil.a", "teacher.b", "staff.a"):
        refused = await app.client.get(
            f"/api/v1/message-attachments/{file['id']}", headers=await headers_for(app, username)
        )
        assert refused.status_code == 404, username


async def test_attachment_matrix(filed: tuple[App, dict[str, School], Path]) -> None:
    """Every role of both schools against each school's attachment: the people of the
    conversation download it; nobody else learns it exists, the school's staff included."""
    app, world, _files = filed
    files: dict[str, int] = {}
    for letter, school in world.items():
        created = await app.client.post(
            "/api/v1/conversations",
            json={
                "subject": "Schéma",
                "body": "Voici le schéma.",
                "person_ids": [school.people["pupil"], school.people["parent"]],
                "attachments": [attachment("schéma.png", PNG)],
            },
            headers=await headers_for(app, f"teacher.{letter}"),
        )
        assert created.status_code == 201, created.text
        thread = await app.client.get(
            f"/api/v1/conversations/{created.json()['id']}",
            headers=await headers_for(app, f"pupil.{letter}"),
        )
        files[letter] = thread.json()["messages"][0]["attachments"][0]["id"]
    failures = []
    for letter, role, target in itertools.product(
        "ab", ["admin", "staff", "teacher", "pupil", "other_pupil", "parent"], "ab"
    ):
        auth = await headers_for(app, f"{role.replace('_', '-')}.{letter}")
        got = await app.client.get(f"/api/v1/message-attachments/{files[target]}", headers=auth)
        expected = 200 if letter == target and role in ("teacher", "pupil", "parent") else 404
        if got.status_code != expected:
            failures.append(f"{role}@{letter} download@{target}: {got.status_code} != {expected}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize(
    ("files", "status"),
    [
        ([attachment("virus.exe", b"MZ" + b"\x00" * 100)], 415),
        ([attachment("big.png", PNG + b"\x00" * (1024 * 1024))], 413),
        ([attachment("empty.png", b"")], 400),
        ([attachment("../../etc/passwd", PNG)], 400),
        ([attachment(f"{n}.png", PNG) for n in range(6)], 400),
    ],
)
async def test_refused_files_store_nothing(
    filed: tuple[App, dict[str, School], Path], files: list[dict[str, str]], status: int
) -> None:
    app, world, folder = filed
    teacher = await headers_for(app, "teacher.a")
    before = await table_counts(app)
    response = await app.client.post(
        "/api/v1/conversations",
        json={
            "subject": "s",
            "body": "b",
            "person_ids": [world["a"].people["pupil"]],
            "attachments": files,
        },
        headers=teacher,
    )
    assert response.status_code == status, response.text
    assert await table_counts(app) == before
    assert stored_files(folder) == []


async def test_a_refused_message_removes_the_bytes_it_stored(
    filed: tuple[App, dict[str, School], Path],
) -> None:
    app, world, folder = filed
    pupil = await headers_for(app, "pupil.a")
    response = await app.client.post(
        "/api/v1/conversations",
        json={
            "subject": "s",
            "body": "b",
            "person_ids": [world["a"].people["other_pupil"]],
            "attachments": [attachment("a.png", PNG)],
        },
        headers=pupil,
    )
    assert response.status_code == 403
    assert stored_files(folder) == []


async def test_the_reply_form_sends_files(filed: tuple[App, dict[str, School], Path]) -> None:
    app, world, folder = filed
    teacher = await headers_for(app, "teacher.a")
    created = await app.client.post(
        "/api/v1/conversations",
        json={"subject": "s", "body": "b", "person_ids": [world["a"].people["parent"]]},
        headers=teacher,
    )
    conversation_id = created.json()["id"]
    await login(app.client, "parent.a")
    page = await app.client.get(f"/messages/{conversation_id}")
    replied = await app.client.post(
        f"/messages/{conversation_id}/reply",
        data={"csrf_token": csrf_from(page.text), "body": "Le certificat est joint."},
        files={"files": ("certificat.png", PNG, "image/png")},
    )
    assert replied.status_code == 302
    shown = await app.client.get(f"/messages/{conversation_id}")
    assert "certificat.png" in shown.text
    link = shown.text.split('href="/messages/attachments/')[1].split('"')[0]
    download = await app.client.get(f"/messages/attachments/{link}")
    assert download.content == PNG
    assert len(stored_files(folder)) == 1
