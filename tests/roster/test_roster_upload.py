"""A school admin uploads a OneRoster export with deliberate errors in the page: each bad
row is named, and the same upload again changes nothing."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from preau.actions.directory import create_school
from preau.adapters.sql.schema import people
from tests.helpers import App, api_token, count_rows, csrf_from, login

SAMPLES = Path(__file__).parent.parent / "roster" / "samples"


def zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


async def admin_of_hugo(app: App) -> None:
    """The sample's Collège Victor Hugo (UAI 0751234A) with an admin who can log in."""
    from preau.actions.directory import insert_person
    from preau.domain.directory import PersonDraft
    from preau.domain.people import Profile
    from tests.helpers import PASSWORD

    school_id = await create_school(app.services, uai="0751234A", name="Collège Victor Hugo")
    async with app.services.engine.begin() as connection:
        person_id = await insert_person(
            app.services,
            connection,
            school_id,
            PersonDraft(
                given_name="Anne", family_name="Admin", profile=Profile.ADMIN, username="admin.hugo"
            ),
        )
        await connection.execute(
            people.update()
            .where(people.c.id == person_id)
            .values(password_hash=await app.services.passwords.hash(PASSWORD))
        )


async def test_upload_with_errors_then_again(app: App) -> None:
    await admin_of_hugo(app)
    await login(app.client, "admin.hugo")
    page = await app.client.get("/admin/roster")
    assert page.status_code == 200
    upload = {"roster": ("export.zip", zipped(SAMPLES / "errors"), "application/zip")}
    first = await app.client.post(
        "/admin/roster",
        files=upload,
        data={"csrf_token": csrf_from(page.text)},
        headers={"accept-language": "en"},
    )
    assert first.status_code == 200, first.text
    assert "Rejected rows" in first.text
    assert "users.csv line" in first.text
    people_after_first = await count_rows(app.services, people)
    assert people_after_first > 1
    token = await api_token(app.client_for(), "admin.hugo")
    second = await app.client_for().post(
        "/api/v1/roster-imports",
        headers={"authorization": f"Bearer {token}"},
        files={"roster": ("export.zip", zipped(SAMPLES / "errors"), "application/zip")},
    )
    assert second.status_code == 201, second.text
    for file in second.json()["files"]:
        assert file["created"] == file["updated"] == file["deactivated"] == file["deleted"] == 0, (
            file
        )
    assert await count_rows(app.services, people) == people_after_first


async def test_upload_refuses_what_is_not_a_zip(app: App) -> None:
    await admin_of_hugo(app)
    await login(app.client, "admin.hugo")
    page = await app.client.get("/admin/roster")
    for name, content, expected in (
        ("users.csv", b"sourcedId,username\n1,x\n", "zip"),
        ("empty.zip", b"", "vide"),
    ):
        response = await app.client.post(
            "/admin/roster",
            files={"roster": (name, content, "application/octet-stream")},
            data={"csrf_token": csrf_from(page.text)},
        )
        assert response.status_code == 400
        assert expected in response.text


async def test_api_upload_and_authorization(app: App) -> None:
    await admin_of_hugo(app)
    token = await api_token(app.client, "admin.hugo")
    response = await app.client.post(
        "/api/v1/roster-imports",
        headers={"authorization": f"Bearer {token}"},
        files={"roster": ("valid.zip", zipped(SAMPLES / "valid"), "application/zip")},
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["school_id"] is not None
    assert any(f["created"] for f in report["files"])
    # Rows of the other school in the sample (Lycée Émile Zola) are refused, not imported.
    rejected = [row for f in report["files"] for row in f["rejected"]]
    assert any("org-zola" in str(row) or "0759876B" in str(row) for row in rejected), rejected
