"""The virtual class pages: the join button, the class page and its policy, janus.js from
Debian, and a clear message when no Janus node is configured."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.virtual.pool import pool_of
from preau.web import virtual as web_virtual
from tests.conftest import missing_service
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
from tests.virtual.janus_nodes import JanusProcess


async def test_a_teacher_starts_a_class_and_only_its_pupils_get_the_page(
    app: App, world: dict[str, School], running_nodes: list[JanusProcess]
) -> None:
    await pool_of(app.services).refresh()
    teacher = app.client_for()
    await login(teacher, "teacher.a")
    page = await teacher.get("/virtual")
    assert "class a" in page.text  # the classes they teach, to start one
    started = await teacher.post(
        "/virtual/start",
        data={"csrf_token": csrf_from(page.text), "group_id": str(world["a"].class_id)},
    )
    assert started.status_code in (302, 303)
    room_path = started.headers["location"]
    room_page = await teacher.get(room_path)
    assert room_page.status_code == 200
    policy = room_page.headers["content-security-policy"]
    assert running_nodes[0].node.janus_url.rsplit("/", 1)[0] in policy
    assert "script-src 'self';" in policy
    assert policy.count("content-security-policy") == 0
    assert 'src="/janus-gateway/janus.js"' in room_page.text

    pupil = app.client_for()
    await login(pupil, "pupil.a")
    listed = await pupil.get("/virtual")
    assert f'href="{room_path}"' in listed.text
    assert (await pupil.get(room_path)).status_code == 200
    outsider = app.client_for()
    await login(outsider, "other-pupil.a")
    assert (await outsider.get(room_path)).status_code == 404
    assert room_path not in (await outsider.get("/virtual")).text


async def test_janus_js_comes_from_the_debian_package_or_a_clear_404(
    app: App, world: dict[str, School], monkeypatch: pytest.MonkeyPatch
) -> None:
    if not web_virtual.JANUS_JS.exists():
        missing_service(
            "libjs-janus-gateway is not installed (apt-get install libjs-janus-gateway)"
        )
    served = await app.client.get("/janus-gateway/janus.js")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("text/javascript")
    assert b"Janus.init" in served.content
    monkeypatch.setattr(web_virtual, "JANUS_JS", Path("/nonexistent/janus.js"))
    missing = await app.client.get("/janus-gateway/janus.js")
    assert missing.status_code == 404
    assert "libjs-janus-gateway" in missing.text


async def test_without_janus_the_pages_say_virtual_classes_are_unavailable(
    engine: AsyncEngine, database_url: str
) -> None:
    async with running_app(make_settings(database_url)) as bare:
        await build_world(bare.services, await bare.services.passwords.hash(PASSWORD))
        client = bare.client_for()
        await login(client, "pupil.a")
        page = await client.get("/virtual")
        assert page.status_code == 200
        assert 'id="unavailable"' in page.text
        assert (await client.get("/timetable")).status_code == 200
