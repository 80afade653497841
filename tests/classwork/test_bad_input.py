"""Bad input gets a clear 4xx, never a 500, and nothing half-written: files too big, of a
refused type, empty, badly named; HTML in text; impossible times; unknown or foreign ids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.adapters.sql.schema import files, hand_ins, homework, homework_revisions
from tests.classwork.conftest import PDF, Api, Clock, iso, post_homework
from tests.helpers import (
    PASSWORD,
    App,
    School,
    api_token,
    build_world,
    count_rows,
    csrf_from,
    login,
    make_settings,
    running_app,
)


def raw_multipart(name: str, data: bytes) -> tuple[bytes, str]:
    """A multipart body written by hand, so the file name arrives exactly as given (HTTP
    clients and browsers escape some characters; an attacker's client need not)."""
    boundary = "preau-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("vide.pdf", b"", 400, "empty"),
        ("page.html", b"<!doctype html><script>alert(1)</script>", 415, "not accepted"),
        ("devoir.pdf", b"<html><body>not a pdf</body></html>", 415, "not accepted"),
        ("programme.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00", 415, "not accepted"),
        ("../../etc/passwd.txt", b"root", 400, "slashes"),
        ("..\\..\\boot.ini", b"x", 400, "slashes"),
        ("bell\x07.txt", b"x", 400, "control"),
        ("", b"x", 400, ""),
    ],
)
async def test_refused_uploads(  # noqa: PLR0917  # fixtures and parameters
    app: App,
    world: dict[str, School],
    tmp_path: Path,
    name: str,
    data: bytes,
    status: int,
    words: str,
) -> None:
    teacher = Api(app.client, await api_token(app.client, "teacher.a"))
    body, content_type = raw_multipart(name, data)
    response = await teacher.client.post(
        "/api/v1/files", content=body, headers={**teacher.headers, "content-type": content_type}
    )
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"]
    assert await count_rows(app.services, files) == 0
    assert stored_files(tmp_path / "files") == []


async def test_a_file_over_the_limit_is_refused_with_the_limit(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, files_dir=tmp_path / "files", files_max_upload_mb=1)
    async with running_app(settings) as app:
        await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        teacher = Api(app.client, await api_token(app.client, "teacher.a"))
        big = b"%PDF-1.4\n" + b"0" * (1024 * 1024)
        response = await teacher.post(
            "/api/v1/files", files={"file": ("gros.pdf", big, "application/pdf")}
        )
        assert response.status_code == 413
        assert "1 MB" in response.json()["detail"]
        assert await count_rows(app.services, files) == 0
        assert stored_files(tmp_path / "files") == []


async def test_html_and_script_are_never_rendered(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    text = '<script>alert("x")</script> <img src=x onerror=alert(1)> voir https://example.org/a?b=1&c=2'
    plain = await post_homework(teacher, world["a"], clock, instructions=text)
    assert "<script" not in plain["instructions_html"]
    assert "<img" not in plain["instructions_html"]
    assert "&lt;script&gt;" in plain["instructions_html"]
    assert 'href="https://example.org/a?b=1&amp;c=2"' in plain["instructions_html"]
    assert 'rel="noopener nofollow ugc"' in plain["instructions_html"]
    markdown = await post_homework(
        teacher,
        world["a"],
        clock,
        instructions_format="markdown",
        instructions=(
            "**Lire** [ceci](javascript:alert(1)) <b onclick=x>gras</b> "
            "![img](https://evil.example/x.png) [doc](https://eduscol.education.fr)"
        ),
    )
    html = markdown["instructions_html"]
    assert "<strong>Lire</strong>" in html
    assert 'href="javascript' not in html
    assert "<b onclick" not in html
    assert "<img" not in html
    assert '<a href="https://eduscol.education.fr" rel="noopener nofollow ugc">doc</a>' in html
    # A pupil's hand-in text with HTML is shown as text in the teacher's page.
    await pupil.post(
        f"/api/v1/homework/{plain['id']}/turn-in", json={"text": "<script>alert(2)</script>"}
    )
    browser = app.client_for()
    await login(browser, "teacher.a")
    page = await browser.get(f"/homework/{plain['id']}/hand-ins/{world['a'].people['pupil']}")
    assert page.status_code == 200
    assert "<script>alert(2)</script>" not in page.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page.text
    await browser.aclose()


async def test_impossible_homework_is_refused_and_nothing_stored(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    base = {"group_id": world["a"].class_id, "title": "Devoir", "due_at": iso(clock, 86400)}
    cases = [
        ({**base, "publish_at": iso(clock, 2 * 86400)}, 400, "after the publish time"),
        ({**base, "due_at": iso(clock, -60)}, 400, "after the publish time"),
        ({**base, "cutoff_at": iso(clock, 3600)}, 400, "cut-off"),
        ({**base, "title": "   "}, 400, "title"),
        ({**base, "title": "x" * 201}, 400, "200"),
        ({**base, "estimated_minutes": 0}, 400, "minutes"),
        ({**base, "pupil_ids": []}, 400, "pupil"),
        ({**base, "attachment_ids": ["does-not-exist"]}, 404, "file"),
        ({**base, "group_id": 999999}, 404, "class"),
        ({**base, "due_at": "tomorrow"}, 400, ""),
        ({**base, "colour": "red"}, 400, ""),
    ]
    for body, status, words in cases:
        response = await teacher.post("/api/v1/homework", json=body)
        assert response.status_code == status, (body, response.text)
        assert words in response.json()["detail"], (body, response.json())
    malformed = await teacher.client.post(
        "/api/v1/homework",
        content=b"{not json",
        headers={**teacher.headers, "content-type": "application/json"},
    )
    assert malformed.status_code == 400
    assert await count_rows(app.services, homework) == 0
    assert await count_rows(app.services, homework_revisions) == 0


async def test_unknown_and_foreign_ids_are_not_found(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    foreign = await post_homework(await as_user("teacher.b"), world["b"], clock)
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    for homework_id in (999999, foreign["id"]):
        for api, method, path, body in (
            (pupil, "get", f"/api/v1/homework/{homework_id}", None),
            (pupil, "post", f"/api/v1/homework/{homework_id}/turn-in", {"text": "x"}),
            (teacher, "patch", f"/api/v1/homework/{homework_id}", {"title": "x"}),
            (teacher, "get", f"/api/v1/homework/{homework_id}/hand-ins", None),
        ):
            kwargs = {"json": body} if body is not None else {}
            response = await getattr(api, method)(path, **kwargs)
            assert response.status_code == 404, (path, response.text)
            assert "does not exist" in response.json()["detail"]
    assert (await pupil.get("/api/v1/files/not-a-file")).status_code == 404
    browser = app.client_for()
    await login(browser, "pupil.a")
    page = await browser.get(f"/homework/{foreign['id']}")
    assert page.status_code == 404
    assert "<h1>" in page.text
    await browser.aclose()


async def test_a_refused_page_turn_in_leaves_nothing_behind(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, tmp_path: Path
) -> None:
    work = await post_homework(await as_user("teacher.a"), world["a"], clock)
    browser = app.client_for()
    await login(browser, "pupil.a")
    page = await browser.get(f"/homework/{work['id']}")
    before = stored_files(tmp_path / "files")
    response = await browser.post(
        f"/homework/{work['id']}/turn-in",
        data={
            "text": "ma réponse",
            "csrf_token": csrf_from(page.text),
            "idempotency_key": "page-key-01",
        },
        files=[
            ("files", ("bon.pdf", PDF, "application/pdf")),
            ("files", ("mauvais.html", b"<html><script>x</script></html>", "text/html")),
        ],
    )
    assert response.status_code == 415
    assert "ma réponse" in response.text  # the form comes back with what was typed
    assert await count_rows(app.services, hand_ins) == 0
    assert await count_rows(app.services, files) == 0
    assert stored_files(tmp_path / "files") == before
    await browser.aclose()


async def test_a_form_sent_twice_turns_in_once(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, tmp_path: Path
) -> None:
    work = await post_homework(await as_user("teacher.a"), world["a"], clock)
    browser = app.client_for()
    await login(browser, "pupil.a")
    page = await browser.get(f"/homework/{work['id']}")
    form = {
        "text": "ma réponse",
        "csrf_token": csrf_from(page.text),
        "idempotency_key": "twice-001",
    }
    for _ in range(2):
        sent = await browser.post(
            f"/homework/{work['id']}/turn-in",
            data=form,
            files=[("files", ("copie.pdf", PDF, "application/pdf"))],
        )
        assert sent.status_code in (302, 303), sent.text
    assert await count_rows(app.services, hand_ins) == 1
    assert await count_rows(app.services, files) == 1
    assert len(stored_files(tmp_path / "files")) == 1  # the retry's copy was removed
    await browser.aclose()
