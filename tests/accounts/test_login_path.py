"""The password login's own work, the largest event-loop cost of an arrival without single
sign-on (docs/performance.md): two statements, each atomic on its own (no BEGIN nor
COMMIT), and the cookies written straight, with the attributes other sign-ins give them."""

from __future__ import annotations

from typing import Any

import msgspec
import sqlalchemy as sa

from preau.cookies import CSRF_COOKIE, DEVICE_COOKIE, LANG_COOKIE, SESSION_COOKIE
from tests.helpers import PASSWORD, App, School, csrf_from, login


async def test_a_password_login_runs_its_two_statements_outside_a_transaction(
    app: App, world: dict[str, School]
) -> None:
    seen: list[tuple[str, Any]] = []

    def record(connection: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
        isolation = connection.get_execution_options().get("isolation_level")
        seen.append((" ".join(statement.split())[:30], isolation))

    engine = app.services.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        response = await login(app.client_for(), "pupil.a")
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert response.status_code in {302, 303}
    login_statements = [
        (text, level) for text, level in seen if "people" in text or "INSERT" in text
    ]
    assert [text.split()[0] for text, _ in login_statements] == ["SELECT", "INSERT"]
    assert [level for _, level in login_statements] == ["AUTOCOMMIT", "AUTOCOMMIT"]


def set_cookies(response: Any) -> dict[str, set[str]]:
    cookies = {}
    for header in response.headers.get_list("set-cookie"):
        pair, *attributes = (part.strip() for part in header.split(";"))
        cookies[pair.split("=", 1)[0]] = {attribute.lower() for attribute in attributes}
    return cookies


async def test_a_password_login_sets_its_cookies_with_their_attributes(
    app: App, world: dict[str, School]
) -> None:
    settings = app.services.settings
    remembered = set_cookies(await login(app.client_for(), "pupil.a"))
    assert remembered[CSRF_COOKIE] == {"path=/", "samesite=strict", "httponly"}
    assert remembered[SESSION_COOKIE] == {
        "path=/", "samesite=lax", "httponly", f"max-age={settings.session_seconds}",
    }  # fmt: skip
    assert remembered[DEVICE_COOKIE] == {
        "path=/", "samesite=lax", "httponly", f"max-age={settings.device_days * 86400}",
    }  # fmt: skip
    once = set_cookies(await login(app.client_for(), "pupil.a", remember=False))
    assert set(once) == {CSRF_COOKIE, SESSION_COOKIE}
    app.services.settings = msgspec.structs.replace(settings, cookie_secure=True)
    try:
        secure = set_cookies(await login(app.client_for(), "pupil.b"))
    finally:
        app.services.settings = settings
    assert set(secure) == {CSRF_COOKIE, SESSION_COOKIE, DEVICE_COOKIE}
    assert all("secure" in attributes for attributes in secure.values())


async def test_the_login_page_carries_each_readers_own_token_and_its_target(
    app: App, world: dict[str, School]
) -> None:
    first, second = app.client_for(), app.client_for()
    pages = [
        await client.get("/login", params={"next_path": "/todo"}) for client in (first, second)
    ]
    assert all(page.status_code == 200 for page in pages)
    assert all('name="next" value="/todo"' in page.text for page in pages)
    assert csrf_from(pages[0].text) != csrf_from(pages[1].text)
    assert "@@preau-csrf" not in pages[0].text
    english = await app.client_for(cookies={LANG_COOKIE: "en"}).get("/login")
    assert "Log in to Préau" in english.text
    assert "Log in to Préau" not in (await app.client_for().get("/login")).text
    for client in (first, second):
        answer = await client.post(
            "/login",
            data={"username": "pupil.a", "password": PASSWORD, "next": "/todo",
                  "csrf_token": csrf_from((await client.get("/login")).text)},
        )  # fmt: skip
        assert answer.status_code in {302, 303}
        assert answer.headers["location"] == "/todo"
